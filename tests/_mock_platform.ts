/** A platform's API on 127.0.0.1 for end-to-end tests: records every request, answers from a script. */

/** One request the mock received. */
export interface ReceivedRequest {
  method: string;
  /** Path and query. */
  path: string;
  headers: Headers;
  /** The raw body. */
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

/** A running mock platform; `await using` shuts it down. */
export interface MockPlatform extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`: the destination's `endpoint`. */
  url: string;
  received: ReceivedRequest[];
  close(): Promise<void>;
}

/**
 * Starts a mock platform answering the `n`th request (from 1) from `script`; without an
 * answer from the script it answers `fallback()` (200 `{}` by default).
 */
export function mockPlatform(
  script: (n: number, request: ReceivedRequest) => Response | Promise<Response> | undefined = () =>
    undefined,
  fallback: () => Response = () => Response.json({}),
): MockPlatform {
  const received: ReceivedRequest[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const text = await req.text();
    let json: unknown;
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
    return (await script(received.length, request)) ?? fallback();
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    received,
    close: () => server.shutdown(),
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}
