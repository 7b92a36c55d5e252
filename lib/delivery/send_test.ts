import assert from "node:assert/strict";
import type { OutboundRequest } from "../../connectors/types.ts";
import type { Resolver } from "./ssrf.ts";
import { BODY_SNIPPET_CHARS, MAX_RESPONSE_BYTES, sendRequest } from "./send.ts";

// Every server here listens on 127.0.0.1; refusals are proven with an injected fetch and
// resolver, so no test sends traffic anywhere but loopback.

interface LocalServer {
  url: string;
  /** Paths of the requests the server received. */
  seen: string[];
  close(): Promise<void>;
}

function serve(handler: (request: Request) => Response | Promise<Response>): LocalServer {
  const seen: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    seen.push(new URL(request.url).pathname);
    return handler(request);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    seen,
    close: () => server.shutdown(),
  };
}

function post(url: string, body = '{"data":[]}'): OutboundRequest {
  return {
    method: "POST",
    url,
    headers: { "content-type": "application/json", "x-test": "1" },
    body,
    eventIndexes: [0],
  };
}

/** A fetch that fails the test if called. */
function forbiddenFetch(calls: string[]): typeof fetch {
  return (input) => {
    calls.push(String(input));
    return Promise.reject(new Error("fetch must not be called"));
  };
}

Deno.test("sendRequest() returns the answer with the body and a 2 KiB snippet", async () => {
  let received: { method: string; type: string | null; test: string | null; body: string } | null =
    null;
  const body = "é".repeat(1500) + "x".repeat(3000);
  const server = serve(async (request) => {
    received = {
      method: request.method,
      type: request.headers.get("content-type"),
      test: request.headers.get("x-test"),
      body: await request.text(),
    };
    return new Response(body, { status: 202, headers: { "x-platform": "yes" } });
  });
  try {
    const result = await sendRequest(post(`${server.url}/events?k=v`), { allowPrivate: true });
    assert.equal(result.error, undefined);
    assert.equal(result.refused, undefined);
    assert.equal(result.response?.status, 202);
    assert.equal(result.response?.headers.get("x-platform"), "yes");
    assert.equal(result.response?.body, body);
    assert.equal(result.bodySnippet.length, BODY_SNIPPET_CHARS);
    assert.equal(result.bodySnippet, body.slice(0, BODY_SNIPPET_CHARS));
    assert.ok(result.latencyMs >= 0);
    assert.deepEqual(received, {
      method: "POST",
      type: "application/json",
      test: "1",
      body: '{"data":[]}',
    });
    assert.deepEqual(server.seen, ["/events"]);
  } finally {
    await server.close();
  }
});

Deno.test("sendRequest() reads at most maxBodyBytes of a large answer", async () => {
  const server = serve(() => new Response("a".repeat(MAX_RESPONSE_BYTES * 4)));
  try {
    const result = await sendRequest(post(`${server.url}/big`), { allowPrivate: true });
    assert.equal(result.error, undefined);
    assert.equal(result.response?.body.length, MAX_RESPONSE_BYTES);
    assert.equal(result.bodySnippet.length, BODY_SNIPPET_CHARS);

    const small = await sendRequest(post(`${server.url}/big`), {
      allowPrivate: true,
      maxBodyBytes: 100,
    });
    assert.equal(small.response?.body, "a".repeat(100));
  } finally {
    await server.close();
  }
});

Deno.test("sendRequest() returns a timeout error when the server never answers", async () => {
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  const server = serve(async () => {
    await released;
    return new Response("too late");
  });
  try {
    const result = await sendRequest(post(`${server.url}/slow`), {
      allowPrivate: true,
      timeoutMs: 100,
    });
    assert.equal(result.response, undefined);
    assert.equal(result.error, `POST ${server.url} timed out after 100 ms`);
    assert.ok(result.latencyMs >= 90, `latency ${result.latencyMs}`);
    assert.deepEqual(server.seen, ["/slow"]);
  } finally {
    release();
    await server.close();
  }
});

Deno.test("sendRequest() keeps the status when the body stalls past the timeout", async () => {
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  const server = serve(() => {
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new TextEncoder().encode("partial"));
        await released;
        controller.close();
      },
    });
    return new Response(stream, { status: 200 });
  });
  try {
    const result = await sendRequest(post(`${server.url}/stall`), {
      allowPrivate: true,
      timeoutMs: 150,
    });
    assert.equal(result.response?.status, 200);
    assert.equal(result.response?.body, "partial");
    assert.equal(result.error, `POST ${server.url} timed out after 150 ms`);
  } finally {
    release();
    await server.close();
  }
});

Deno.test("sendRequest() returns a 3xx as is without following it", async () => {
  const server = serve((request) =>
    new URL(request.url).pathname === "/moved"
      ? new Response("see elsewhere", { status: 302, headers: { location: "/elsewhere" } })
      : new Response("followed")
  );
  try {
    const result = await sendRequest(post(`${server.url}/moved`), { allowPrivate: true });
    assert.equal(result.error, undefined);
    assert.equal(result.response?.status, 302);
    assert.equal(result.response?.headers.get("location"), "/elsewhere");
    assert.equal(result.bodySnippet, "see elsewhere");
    assert.deepEqual(server.seen, ["/moved"]);
  } finally {
    await server.close();
  }
});

Deno.test("sendRequest() returns a network error for a closed port, without the URL's query", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const result = await sendRequest(post(`http://127.0.0.1:${port}/x?api_secret=s3cret`), {
    allowPrivate: true,
  });
  assert.equal(result.response, undefined);
  assert.equal(result.refused, undefined);
  assert.ok(result.error?.startsWith(`POST http://127.0.0.1:${port} failed: `), result.error);
  assert.ok(!result.error?.includes("s3cret"), result.error);
  assert.equal(result.bodySnippet, "");
});

Deno.test("sendRequest() refuses http://127.0.0.1 without allowPrivate and no request reaches it", async () => {
  const server = serve(() => new Response("must not be reached"));
  try {
    for (const url of [`${server.url}/hook`, server.url.replace("http:", "https:") + "/hook"]) {
      const result = await sendRequest(post(url), { allowPrivate: false });
      assert.equal(result.refused, true, url);
      assert.equal(result.response, undefined);
      assert.equal(result.latencyMs, 0);
      assert.match(result.error ?? "", /^Refused URL "https?:\/\/127\.0\.0\.1:\d+": /);
    }
    assert.deepEqual(server.seen, []);
  } finally {
    await server.close();
  }
});

Deno.test("sendRequest() refuses a name that now resolves to a private address, calling no fetch", async () => {
  const calls: string[] = [];
  let answer = "93.184.215.14";
  const resolve: Resolver = (_hostname, recordType) =>
    Promise.resolve(recordType === "A" ? [answer] : []);
  const fetchSpy: typeof fetch = (input, init) => {
    calls.push(`${init?.method} ${String(input)} redirect=${init?.redirect}`);
    return Promise.resolve(new Response("ok"));
  };

  const first = await sendRequest(post("https://rebind.example.net/e"), {
    resolve,
    fetch: fetchSpy,
  });
  assert.equal(first.response?.status, 200);
  assert.deepEqual(calls, ["POST https://rebind.example.net/e redirect=manual"]);

  answer = "10.0.0.7";
  const second = await sendRequest(post("https://rebind.example.net/e"), {
    resolve,
    fetch: forbiddenFetch(calls),
  });
  assert.equal(second.refused, true);
  assert.match(second.error ?? "", /resolves to 10\.0\.0\.7, which is private/);
  assert.equal(calls.length, 1);
});

Deno.test("sendRequest() turns a throwing fetch into an error result", async () => {
  const result = await sendRequest(post("https://8.8.8.8/x?token=abc"), {
    fetch: () =>
      Promise.reject(
        new TypeError("fetch failed", {
          cause: new Error("error sending request for https://8.8.8.8/x?token=abc: reset"),
        }),
      ),
  });
  assert.equal(
    result.error,
    "POST https://8.8.8.8 failed: fetch failed: error sending request for https://8.8.8.8: reset",
  );
});
