/**
 * End to end on the wire: compressed bodies as real senders post them (Segment's mobile
 * libraries: gzip, chunked, Basic auth with the write key, to `/v1/import`), sent over
 * loopback to the real server, and a compression bomb that must cost it nothing.
 */
import assert from "node:assert/strict";
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import { openTestSluice } from "./_harness.ts";
import { type BatchJson, countStored, expectJson, expectProblem, segmentBasic } from "./_http.ts";
import { startWireSluice, type WireSluice } from "./_ingest.ts";

const encoder = new TextEncoder();
const CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36";

/** A body sent in `pieces` chunks: fetch sends it with `Transfer-Encoding: chunked`. */
function chunked(bytes: Uint8Array, pieces = 3): ReadableStream<Uint8Array> {
  const size = Math.ceil(bytes.byteLength / pieces);
  let next = 0;
  return new ReadableStream({
    pull(controller) {
      if (next >= bytes.byteLength) return controller.close();
      controller.enqueue(new Uint8Array(bytes.subarray(next, next + size)));
      next += size;
    },
  });
}

function post(
  w: WireSluice,
  path: string,
  body: Uint8Array | ReadableStream<Uint8Array>,
  headers: Record<string, string>,
): Promise<Response> {
  return fetch(`${w.base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: body instanceof ReadableStream ? body : new Uint8Array(body),
  });
}

function segmentBatch(ids: string[]): Uint8Array {
  return encoder.encode(JSON.stringify({
    batch: ids.map((id) => ({
      type: "track",
      messageId: id,
      event: "Order Completed",
      userId: "user-42",
      timestamp: new Date().toISOString(),
      properties: { order_id: id, revenue: 19.5, currency: "EUR" },
    })),
    context: { library: { name: "analytics-android", version: "4.11.3" } },
  }));
}

/** Resident memory of a process, bytes (Linux `/proc`). */
async function rssBytes(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  assert.ok(kb, "VmRSS is readable");
  return Number(kb[1]) * 1024;
}

Deno.test("Compressed bodies from real senders, over the wire", async (t) => {
  const w = await startWireSluice();
  const auth = segmentBasic(w.workspace.ingest_key);
  try {
    await t.step("a gzipped, chunked Segment batch to /v1/batch is stored", async () => {
      const res = await post(w, "/v1/batch", chunked(gzipSync(segmentBatch(["gz-1", "gz-2"]))), {
        ...auth,
        "content-encoding": "gzip",
      });
      const body = await expectJson<BatchJson>(res, 202);
      assert.deepEqual(body.results, [
        { event_id: "gz-1", status: "accepted" },
        { event_id: "gz-2", status: "accepted" },
      ]);
    });

    await t.step("/v1/import takes the same batch, repeats answered as duplicates", async () => {
      const res = await post(
        w,
        "/v1/import",
        chunked(gzipSync(segmentBatch(["gz-2", "imp-1"])), 5),
        { ...auth, "content-encoding": "gzip" },
      );
      const body = await expectJson<BatchJson>(res, 202);
      assert.deepEqual(body.results, [
        { event_id: "gz-2", status: "duplicate" },
        { event_id: "imp-1", status: "accepted" },
      ]);
      assert.equal(body.duplicates, 1);
    });

    await t.step("a deflate body to /v1/events and a br body to /v1/browser/events", async () => {
      const native = await post(
        w,
        "/v1/events",
        deflateSync(encoder.encode(JSON.stringify({ event_id: "df-1", event_name: "lead" }))),
        { authorization: `Bearer ${w.workspace.ingest_key}`, "content-encoding": "deflate" },
      );
      assert.equal((await expectJson<{ event_id: string }>(native, 202)).event_id, "df-1");
      const browser = await post(
        w,
        "/v1/browser/events",
        brotliCompressSync(encoder.encode(JSON.stringify({
          public_id: w.workspace.public_id,
          event_id: "br-1",
          event_name: "PageView",
        }))),
        { origin: "https://shop.example", "content-encoding": "br", "user-agent": CHROME },
      );
      assert.equal(browser.headers.get("access-control-allow-origin"), "https://shop.example");
      assert.equal((await expectJson<{ event_id: string }>(browser, 202)).event_id, "br-1");
    });

    await t.step("a gzip bomb is answered 413 at once, without memory growth", async () => {
      const bomb = gzipSync(new Uint8Array(50 * 1024 * 1024));
      assert.ok(bomb.byteLength < 64 * 1024, `the bomb is ${bomb.byteLength} bytes`);
      const before = await rssBytes(w.server.pid);
      const started = performance.now();
      const res = await post(w, "/v1/batch", bomb, { ...auth, "content-encoding": "gzip" });
      const problem = await expectProblem(res, 413);
      const elapsed = performance.now() - started;
      assert.equal(problem.detail, "The request body exceeds 524288 bytes once decoded from gzip");
      assert.ok(elapsed < 2_000, `answered in ${Math.round(elapsed)} ms`);
      const grown = (await rssBytes(w.server.pid)) - before;
      assert.ok(grown < 32 * 1024 * 1024, `the server grew by ${grown >> 20} MiB`);
    });

    await t.step("an unknown encoding is 415 naming it; corrupt gzip is 400", async () => {
      const zstd = await post(w, "/v1/batch", segmentBatch(["zstd-1"]), {
        ...auth,
        "content-encoding": "zstd",
      });
      assert.equal(zstd.headers.get("accept-encoding"), "gzip, deflate, br");
      const problem = await expectProblem(zstd, 415);
      assert.equal(
        problem.detail,
        'Content-Encoding "zstd" is not supported; send one of gzip, deflate, br or identity',
      );
      const corrupt = await post(w, "/v1/batch", segmentBatch(["plain-1"]), {
        ...auth,
        "content-encoding": "gzip",
      });
      assert.match(
        (await expectProblem(corrupt, 400)).detail,
        /^The request body is not valid gzip data: /,
      );
    });

    await t.step("exactly the accepted events are stored", async () => {
      const stored = await w.events();
      assert.deepEqual(stored.map((e) => e.event_id).sort(), [
        "br-1",
        "df-1",
        "gz-1",
        "gz-2",
        "imp-1",
      ]);
      const imported = stored.find((e) => e.event_id === "imp-1");
      assert.equal(imported?.event_name, "purchase");
      assert.equal(imported?.source, "app");
      assert.equal(imported?.value, 19.5);
    });
  } finally {
    await w.stop();
  }
  assert.doesNotMatch(w.server.output, /Unhandled error/);
});

interface OperationJson {
  parameters?: { name: string; in: string; schema?: { enum?: string[] } }[];
  responses: Record<string, unknown>;
}

Deno.test("GET /openapi.json documents Content-Encoding, /v1/import and 200 duplicates", async () => {
  await using s = await openTestSluice();
  const doc = await expectJson<{ paths: Record<string, Record<string, OperationJson>> }>(
    await s.request("/openapi.json"),
    200,
  );
  const segment = ["batch", "import", "track", "identify", "page", "screen", "group", "alias"];
  const posts = ["/v1/events", "/v1/browser/events", "/collect", "/collect/hook"]
    .concat(segment.map((call) => `/v1/${call}`));
  for (const path of posts) {
    const post = doc.paths[path]?.post;
    assert.ok(post, `POST ${path} is documented`);
    const header = post.parameters?.find((p) => p.in === "header");
    assert.equal(header?.name, "content-encoding", path);
    assert.deepEqual(header?.schema?.enum, ["gzip", "deflate", "br", "identity"], path);
    assert.ok(post.responses["413"] && post.responses["415"], path);
    const retried = path.startsWith("/collect/hook") || segment.some((c) => path === `/v1/${c}`);
    assert.equal("200" in post.responses, retried, `${path} documents a 200 duplicate`);
    assert.equal("409" in post.responses, !retried, `${path} documents a 409 duplicate`);
  }
});

Deno.test("Every ingest endpoint takes a gzip body", async () => {
  await using s = await openTestSluice();
  const key = s.workspace.ingest_key;
  const browser = { origin: "https://shop.example", "user-agent": CHROME };
  const cases: [path: string, body: unknown, headers: Record<string, string>, id: string][] = [
    [
      "/v1/events",
      { event_id: "e-1", event_name: "lead" },
      { authorization: `Bearer ${key}` },
      "e-1",
    ],
    [
      "/v1/browser/events",
      { public_id: s.workspace.public_id, event_id: "b-1", event_name: "lead" },
      browser,
      "b-1",
    ],
    [
      "/collect",
      { public_id: s.workspace.public_id, events: [{ event: "Lead", eventId: "c-1" }] },
      browser,
      "c-1",
    ],
    [`/collect/hook?k=${key}`, { event: "Lead", event_id: "h-1" }, {}, "h-1"],
    ["/v1/track", { messageId: "t-1", event: "Lead" }, segmentBasic(key), "t-1"],
    ["/v1/identify", { messageId: "i-1", userId: "u-1" }, segmentBasic(key), "i-1"],
    ["/v1/batch", { batch: [{ type: "page", messageId: "p-1" }] }, segmentBasic(key), "p-1"],
    ["/v1/import", { batch: [{ type: "screen", messageId: "s-1" }] }, segmentBasic(key), "s-1"],
  ];
  for (const [path, body, headers, id] of cases) {
    const res = await s.request(path, {
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": "gzip", ...headers },
      body: new Uint8Array(gzipSync(encoder.encode(JSON.stringify(body)))),
    });
    const answer = await expectJson<{ event_id?: string; results?: { event_id: string }[] }>(
      res,
      202,
    );
    assert.equal(answer.event_id ?? answer.results?.[0]?.event_id, id, path);
  }
  assert.equal(await countStored(s), cases.length);
});
