import assert from "node:assert/strict";
import { readBody } from "./_body.ts";
import { HttpError } from "./_http_error.ts";

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
