/** A platform's API on 127.0.0.1 for end-to-end tests: records every request, answers from a script. */

/** One request the mock received; `Json` is the body's shape when it is JSON. */
export interface ReceivedRequest<Json = unknown> {
  method: string;
  /** Path and query. */
  path: string;
  headers: Headers;
  /** The raw body. */
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: Json | undefined;
}

/** How the mock answers the `n`th request (from 1). */
export type MockAnswer<Json = unknown> = (
  n: number,
  request: ReceivedRequest<Json>,
) => Response | Promise<Response> | undefined;

/** A running mock platform; `await using` shuts it down. */
export interface MockPlatform<Json = unknown> extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`: the destination's `endpoint`. */
  url: string;
  received: ReceivedRequest<Json>[];
  close(): Promise<void>;
}

/**
 * Starts a mock platform answering the `n`th request (from 1) from `script`; without an
 * answer from the script it answers `fallback(n, request)` (200 `{}` by default).
 */
export function mockPlatform<Json = unknown>(
  script: MockAnswer<Json> = () => undefined,
  fallback: (n: number, request: ReceivedRequest<Json>) => Response = () => Response.json({}),
): MockPlatform<Json> {
  const received: ReceivedRequest<Json>[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const text = await req.text();
    let json: Json | undefined;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const request = {
      method: req.method,
      path: url.pathname + url.search,
      headers: req.headers,
      text,
      json,
    };
    received.push(request);
    const n = received.length;
    return (await script(n, request)) ?? fallback(n, request);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    received,
    close: () => server.shutdown(),
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** The token of an `Authorization: Bearer …` header, or undefined without one. */
export function bearerToken(request: ReceivedRequest): string | undefined {
  return request.headers.get("authorization")?.replace(/^Bearer /, "");
}

/** The `event_id`s of a Meta Conversions API request the mock received. */
export function metaEventIds(request: ReceivedRequest): string[] {
  const data = (request.json as { data?: { event_id: string }[] } | undefined)?.data ?? [];
  return data.map((event) => event.event_id);
}

/**
 * A mock Meta that refuses (400, Meta's error 100 "Invalid parameter") every request carrying
 * one of the `refused` event ids, and answers `events_received` to the rest.
 */
export function metaRefusing(refused: ReadonlySet<string>): MockPlatform {
  return mockPlatform(
    (_, request) =>
      metaEventIds(request).some((id) => refused.has(id))
        ? Response.json({ error: { code: 100, message: "Invalid parameter" } }, { status: 400 })
        : undefined,
    () => Response.json({ events_received: 1 }),
  );
}
