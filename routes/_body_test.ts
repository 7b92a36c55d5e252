import assert from "node:assert/strict";
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from "node:zlib";
import { contentCoding, readBody } from "./_body.ts";
import { HttpError } from "./_http_error.ts";
import { configureLog } from "../lib/log.ts";

function post(body: BodyInit | null, headers: Record<string, string> = {}): Request {
  return new Request("https://sluice.test/v1/events", { method: "POST", body, headers });
}

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

async function httpError(promise: Promise<unknown>): Promise<HttpError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof HttpError, `expected an HttpError, got ${error}`);
    return error;
  }
  assert.fail("expected readBody() to throw");
}

const JSON_TYPE = { "content-type": "application/json" };

Deno.test("readBody() parses a JSON body", async () => {
  assert.deepEqual(await readBody(post('{"a":[1,"é"]}', JSON_TYPE), { limit: 1024 }), {
    a: [1, "é"],
  });
});

Deno.test("readBody() accepts application/json with parameters and +json types", async () => {
  const withCharset = post('{"a":1}', { "content-type": "Application/JSON; charset=utf-8" });
  assert.deepEqual(await readBody(withCharset, { limit: 1024 }), { a: 1 });
  const vendor = post("[1]", { "content-type": "application/vnd.sluice+json" });
  assert.deepEqual(await readBody(vendor, { limit: 1024 }), [1]);
});

Deno.test("readBody() answers 415 when the content type is missing", async () => {
  const error = await httpError(readBody(post("{}"), { limit: 1024 }));
  assert.equal(error.status, 415);
  // A string body gets text/plain from the Request constructor; strip it.
  const bare = new Request("https://sluice.test/", { method: "POST", body: streamOf([]) });
  const none = await httpError(readBody(bare, { limit: 1024 }));
  assert.equal(none.status, 415);
  assert.equal(
    none.message,
    'Content-Type "(none)" is not accepted; send application/json',
  );
});

Deno.test("readBody() answers 415 for text/plain unless allowTextPlain", async () => {
  const refused = await httpError(
    readBody(post('{"a":1}', { "content-type": "text/plain" }), { limit: 1024 }),
  );
  assert.equal(refused.status, 415);
  assert.equal(refused.message, 'Content-Type "text/plain" is not accepted; send application/json');
  const allowed = post('{"a":1}', { "content-type": "text/plain;charset=UTF-8" });
  assert.deepEqual(await readBody(allowed, { limit: 1024, allowTextPlain: true }), { a: 1 });
});

Deno.test("readBody() reads a form only when allowForm", async () => {
  const form = () =>
    post("event=Lead&email=ada%40example.com&value=9", {
      "content-type": "application/x-www-form-urlencoded",
    });
  const refused = await httpError(readBody(form(), { limit: 1024 }));
  assert.equal(refused.status, 415);
  assert.deepEqual(await readBody(form(), { limit: 1024, allowForm: true }), {
    event: "Lead",
    email: "ada@example.com",
    value: "9",
  });
  const other = await httpError(
    readBody(post("x", { "content-type": "text/csv" }), { limit: 1024, allowForm: true }),
  );
  assert.equal(other.status, 415);
  assert.equal(
    other.message,
    'Content-Type "text/csv" is not accepted; send application/json or application/x-www-form-urlencoded',
  );
});

Deno.test("readBody() answers 413 when content-length exceeds the limit", async () => {
  const request = post("{}", { ...JSON_TYPE, "content-length": "2049" });
  const error = await httpError(readBody(request, { limit: 2048 }));
  assert.equal(error.status, 413);
  assert.equal(error.message, "The request body exceeds 2048 bytes");
});

Deno.test("readBody() answers 413 while streaming a body without content-length", async () => {
  const chunk = new TextEncoder().encode('{"a":"' + "x".repeat(600));
  const request = new Request("https://sluice.test/", {
    method: "POST",
    body: streamOf([chunk, chunk, chunk]),
    headers: JSON_TYPE,
  });
  assert.equal(request.headers.get("content-length"), null);
  const error = await httpError(readBody(request, { limit: 1024 }));
  assert.equal(error.status, 413);
});

Deno.test("readBody() accepts a streamed body of exactly the limit", async () => {
  const body = '{"a":"' + "x".repeat(1024 - 9) + '"}';
  assert.equal(body.length, 1023);
  const bytes = new TextEncoder().encode(body + " ");
  const request = new Request("https://sluice.test/", {
    method: "POST",
    body: streamOf([bytes.subarray(0, 500), bytes.subarray(500)]),
    headers: JSON_TYPE,
  });
  assert.deepEqual(await readBody(request, { limit: 1024 }), { a: "x".repeat(1015) });
});

Deno.test("readBody() answers 400 for bytes that are not UTF-8", async () => {
  const error = await httpError(
    readBody(post(new Uint8Array([0xff, 0xfe]), JSON_TYPE), { limit: 1024 }),
  );
  assert.equal(error.status, 400);
  assert.equal(error.message, "The request body is not valid UTF-8");
  const form = await httpError(readBody(
    post(new Uint8Array([0x61, 0x3d, 0xc3]), {
      "content-type": "application/x-www-form-urlencoded",
    }),
    { limit: 1024, allowForm: true },
  ));
  assert.equal(form.status, 400);
});

Deno.test("readBody() answers 400 for an empty body", async () => {
  for (const body of ["", "  \n "]) {
    const error = await httpError(readBody(post(body, JSON_TYPE), { limit: 1024 }));
    assert.equal(error.status, 400);
    assert.equal(error.message, "The request body is empty; send a JSON object");
  }
  const noBody = new Request("https://sluice.test/", { method: "POST", headers: JSON_TYPE });
  assert.equal((await httpError(readBody(noBody, { limit: 1024 }))).status, 400);
});

Deno.test("readBody() answers 400 for malformed JSON", async () => {
  const error = await httpError(readBody(post('{"a":', JSON_TYPE), { limit: 1024 }));
  assert.equal(error.status, 400);
  assert.match(error.message, /^The request body is not valid JSON: /);
});

function encoded(body: Uint8Array | ReadableStream<Uint8Array>, coding: string): Request {
  return new Request("https://sluice.test/v1/batch", {
    method: "POST",
    body: body instanceof ReadableStream ? body : new Uint8Array(body),
    headers: { ...JSON_TYPE, "content-encoding": coding },
  });
}

const EVENT_JSON = new TextEncoder().encode(JSON.stringify({ event_name: "purchase", a: "é" }));

Deno.test("readBody() decodes gzip, x-gzip, deflate and br bodies", async () => {
  const cases: [string, Uint8Array][] = [
    ["gzip", gzipSync(EVENT_JSON)],
    ["x-gzip", gzipSync(EVENT_JSON)],
    ["deflate", deflateSync(EVENT_JSON)],
    ["br", brotliCompressSync(EVENT_JSON)],
    ["GZIP, identity", gzipSync(EVENT_JSON)],
    ["identity", EVENT_JSON],
  ];
  for (const [coding, body] of cases) {
    assert.deepEqual(
      await readBody(encoded(body, coding), { limit: 1024 }),
      { event_name: "purchase", a: "é" },
      coding,
    );
  }
});

Deno.test("readBody() decodes a compressed body that arrives in small chunks", async () => {
  const big = new TextEncoder().encode(JSON.stringify({ a: "x".repeat(200_000) }));
  const compressed = gzipSync(big);
  const pieces = Array.from(
    { length: Math.ceil(compressed.byteLength / 7) },
    (_, i) => compressed.subarray(i * 7, i * 7 + 7),
  );
  const body = await readBody(encoded(streamOf(pieces), "gzip"), { limit: 256 * 1024 });
  assert.deepEqual(body, { a: "x".repeat(200_000) });
});

Deno.test("readBody() answers 413 once the decoded bytes pass the limit, reading no further", async () => {
  const zeros = new Uint8Array(10 * 1024 * 1024);
  for (
    const [coding, bomb] of [
      ["gzip", gzipSync(zeros)],
      ["deflate", deflateSync(zeros)],
      ["br", brotliCompressSync(zeros)],
    ] as const
  ) {
    let pulled = 0;
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        const chunk = bomb.subarray(pulled, pulled + 1024);
        pulled += chunk.byteLength;
        if (chunk.byteLength === 0) controller.close();
        else controller.enqueue(chunk);
      },
    }, { highWaterMark: 0 });
    const error = await httpError(readBody(encoded(source, coding), { limit: 64 * 1024 }));
    assert.equal(error.status, 413, coding);
    assert.equal(error.message, `The request body exceeds 65536 bytes once decoded from ${coding}`);
    // The first KiB decodes past the limit: nothing after it is read.
    assert.ok(pulled <= 1024, `${coding} read ${pulled} of ${bomb.byteLength} bytes`);
  }
});

Deno.test("readBody() answers 413 when the compressed bytes alone pass the limit", async () => {
  // Empty gzip members decode to nothing: only the cap on what is sent stops them.
  const empty = gzipSync(new Uint8Array());
  const members = new Uint8Array(empty.byteLength * 100);
  for (let i = 0; i < 100; i++) members.set(empty, i * empty.byteLength);
  const error = await httpError(readBody(encoded(members, "gzip"), { limit: 1024 }));
  assert.equal(error.status, 413);
  assert.equal(error.message, "The request body exceeds 1024 bytes");
});

Deno.test("readBody() answers 400 for corrupt or truncated compressed data", async () => {
  const gz = gzipSync(EVENT_JSON);
  const cases: [string, Uint8Array, RegExp][] = [
    ["gzip", EVENT_JSON, /^The request body is not valid gzip data: /],
    ["gzip", gz.subarray(0, gz.byteLength - 6), /^The request body is not valid gzip data: /],
    ["deflate", deflateRawSync(EVENT_JSON), /^The request body is not valid deflate data: /],
    ["br", new Uint8Array([0xff, 0xff, 0xff, 0xff]), /^The request body is not valid br data: /],
  ];
  for (const [coding, body, message] of cases) {
    const error = await httpError(readBody(encoded(body, coding), { limit: 1024 }));
    assert.equal(error.status, 400, coding);
    assert.match(error.message, message);
  }
});

Deno.test("readBody() answers 415 naming an unsupported Content-Encoding", async () => {
  for (const coding of ["compress", "zstd", "gzip, br", "gzip;q=1"]) {
    const error = await httpError(readBody(encoded(EVENT_JSON, coding), { limit: 1024 }));
    assert.equal(error.status, 415, coding);
    assert.equal(
      error.message,
      `Content-Encoding "${coding}" is not supported; send one of gzip, deflate, br or identity`,
    );
    assert.deepEqual(error.headers, { "accept-encoding": "gzip, deflate, br" });
  }
});

Deno.test("contentCoding() reads the one coding of a Content-Encoding header", () => {
  assert.equal(contentCoding(null), undefined);
  assert.equal(contentCoding(""), undefined);
  assert.equal(contentCoding(" identity "), undefined);
  assert.equal(contentCoding("Gzip"), "gzip");
  assert.equal(contentCoding("x-gzip"), "gzip");
  assert.equal(contentCoding("identity, br"), "br");
  assert.equal(contentCoding("deflate"), "deflate");
});

Deno.test("readBody() answers 400 when the client stops sending mid-body, logging one debug line", async () => {
  const lines: Record<string, unknown>[] = [];
  const before = configureLog({
    level: "debug",
    sink: (_, line) => lines.push(JSON.parse(line)),
  });
  try {
    for (const coding of [undefined, "gzip"]) {
      const half = coding ? gzipSync(EVENT_JSON).subarray(0, 10) : EVENT_JSON.subarray(0, 10);
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(half);
          controller.error(new Error("connection closed before message completed"));
        },
      });
      const request = new Request("https://sluice.test/v1/events", {
        method: "POST",
        body,
        headers: { ...JSON_TYPE, ...(coding ? { "content-encoding": coding } : {}) },
      });
      const error = await httpError(readBody(request, { limit: 1024 }));
      assert.equal(error.status, 400);
      assert.equal(error.message, "The request body ended before it was complete");
    }
    assert.deepEqual(
      lines.map(({ level, msg, method, path, error }) => ({ level, msg, method, path, error })),
      [
        {
          level: "debug",
          msg: "Request body cut off",
          method: "POST",
          path: "/v1/events",
          error: "Error: connection closed before message completed",
        },
        {
          level: "debug",
          msg: "Request body cut off",
          method: "POST",
          path: "/v1/events",
          error: "Error: connection closed before message completed",
        },
      ],
    );
  } finally {
    configureLog(before);
  }
});
