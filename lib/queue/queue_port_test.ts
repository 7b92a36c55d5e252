import assert from "node:assert/strict";
import { outboxDeadPrefix, outboxPrefix } from "../kv/keys.ts";
import {
  type DeadOutboxEntry,
  KvOutbox,
  type KvOutboxOptions,
  KvQueue,
  type MessageHandler,
  type QueueMessage,
  type QueuePort,
} from "./mod.ts";
import { pause, until } from "../../tests/_wait.ts";

/** Every adapter of the port; each shared case below runs against all of them. */
const ADAPTERS: { kind: QueuePort["kind"]; create: (kv: Deno.Kv) => QueuePort }[] = [
  { kind: "kv-queue", create: (kv) => new KvQueue(kv) },
  { kind: "kv-outbox", create: (kv) => new KvOutbox(kv) },
];

/** A key only these tests write, for atomic checks that pass or fail. */
const GUARD_KEY = ["queue_port_test", "guard"] as const;

function message(id: string): QueueMessage {
  return { type: "ingested", workspace_id: "ws_test", ids: [id] };
}

/** Counts how often each message id was handled, and when. */
class Recorder {
  readonly counts = new Map<string, number>();
  readonly times = new Map<string, number>();
  running = 0;
  maxRunning = 0;

  constructor(readonly work: (id: string, call: number) => Promise<void> = async () => {}) {}

  readonly handler: MessageHandler = async (msg) => {
    const id = msg.type === "webhook" ? msg.delivery_id : msg.ids[0] ?? "";
    const call = (this.counts.get(id) ?? 0) + 1;
    this.counts.set(id, call);
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      await this.work(id, call);
      this.times.set(id, Date.now());
    } finally {
      this.running--;
    }
  };

  get handled(): number {
    return this.times.size;
  }
}

/** Runs `body` with a queue on fresh `:memory:` KV that delivers to `recorder`, then closes both. */
async function withQueue(
  create: (kv: Deno.Kv) => QueuePort,
  recorder: Recorder,
  body: (kv: Deno.Kv, queue: QueuePort) => Promise<void>,
): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  const queue = create(kv);
  const listening = queue.listen(recorder.handler);
  try {
    await body(kv, queue);
  } finally {
    await queue.close();
    kv.close();
    await listening;
  }
}

async function outboxSize(kv: Deno.Kv): Promise<number> {
  return (await Array.fromAsync(kv.list({ prefix: outboxPrefix() }))).length;
}

/** Waits until every claimed message is settled (SQLite may make a settle retry). */
async function waitForEmpty(kv: Deno.Kv): Promise<void> {
  const deadline = Date.now() + 3_000;
  while (await outboxSize(kv) > 0) {
    if (Date.now() > deadline) throw new Error("Timed out waiting for an empty outbox");
    await pause(20);
  }
}

for (const { kind, create } of ADAPTERS) {
  Deno.test(`${kind}: enqueueIn() delivers exactly once when the operation commits`, async () => {
    const recorder = new Recorder();
    await withQueue(create, recorder, async (kv, queue) => {
      const op = kv.atomic().check({ key: GUARD_KEY, versionstamp: null }).set(GUARD_KEY, 1);
      queue.enqueueIn(op, message("a"));
      assert.equal((await op.commit()).ok, true);
      await until(() => recorder.handled === 1, "the message");
      await pause(300);
      assert.deepEqual([...recorder.counts], [["a", 1]]);
    });
  });

  Deno.test(`${kind}: enqueueIn() delivers nothing when the operation's check fails`, async () => {
    const recorder = new Recorder();
    await withQueue(create, recorder, async (kv, queue) => {
      await kv.set(GUARD_KEY, 1);
      const op = kv.atomic().check({ key: GUARD_KEY, versionstamp: null });
      queue.enqueueIn(op, message("lost"));
      assert.equal((await op.commit()).ok, false);
      await queue.enqueue(message("marker"));
      await until(() => recorder.handled === 1, "the marker message");
      await pause(300);
      assert.deepEqual([...recorder.counts], [["marker", 1]]);
    });
  });

  Deno.test(`${kind}: enqueue() holds a message back for delayMs, then delivers it`, async () => {
    const recorder = new Recorder();
    await withQueue(create, recorder, async (_kv, queue) => {
      const before = Date.now();
      await queue.enqueue(message("later"), { delayMs: 400 });
      await until(() => recorder.handled === 1, "the delayed message");
      const waited = recorder.times.get("later")! - before;
      assert.ok(waited >= 400, `delivered after ${waited} ms`);
      assert.ok(waited < 1_400, `delivered after ${waited} ms`);
    });
  });

  Deno.test(`${kind}: listen() retries a message whose handler threw`, async () => {
    const recorder = new Recorder((_id, call) =>
      call === 1 ? Promise.reject(new Error("first attempt fails")) : Promise.resolve()
    );
    await withQueue(create, recorder, async (kv, queue) => {
      const before = Date.now();
      await queue.enqueue(message("flaky"));
      await until(() => recorder.handled === 1, "the retried message", 4_000);
      assert.equal(recorder.counts.get("flaky"), 2);
      assert.ok(Date.now() - before >= 900, "the first retry waits about 1 s");
      await pause(200);
      assert.equal(recorder.counts.get("flaky"), 2);
      if (kind === "kv-outbox") assert.equal(await outboxSize(kv), 0);
    });
  });

  Deno.test(`${kind}: listen() handles 500 messages exactly once, several at a time`, async () => {
    const recorder = new Recorder(() => pause(2));
    await withQueue(create, recorder, async (kv, queue) => {
      for (let chunk = 0; chunk < 5; chunk++) {
        const op = kv.atomic();
        for (let i = 0; i < 100; i++) queue.enqueueIn(op, message(`m${chunk * 100 + i}`));
        assert.equal((await op.commit()).ok, true);
      }
      await until(() => recorder.handled === 500, "500 messages", 6_000);
      await pause(200);
      assert.equal(recorder.counts.size, 500);
      assert.ok([...recorder.counts.values()].every((n) => n === 1), "each handled once");
      assert.ok(recorder.maxRunning > 1, `at most ${recorder.maxRunning} ran at once`);
    });
  });

  Deno.test(`${kind}: close() and closing KV stop delivery and settle listen()`, async () => {
    const recorder = new Recorder();
    const kv = await Deno.openKv(":memory:");
    const queue = create(kv);
    const listening = queue.listen(recorder.handler);
    await queue.enqueue(message("never"), { delayMs: 200 });
    await queue.close();
    kv.close();
    await listening;
    await pause(400);
    assert.equal(recorder.counts.size, 0);
  });
}

// The outbox alone: several workers on one database.

async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sluice_outbox_" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function enqueueMany(kv: Deno.Kv, count: number): Promise<string[]> {
  const outbox = new KvOutbox(kv);
  const ids = Array.from({ length: count }, (_, i) => `m${i}`);
  for (let start = 0; start < count; start += 100) {
    const op = kv.atomic();
    for (const id of ids.slice(start, start + 100)) outbox.enqueueIn(op, message(id));
    assert.equal((await op.commit()).ok, true);
  }
  return ids;
}

Deno.test("KvOutbox: close() waits for running handlers and claims nothing after", async () => {
  let release = () => {};
  const gate = new Promise<void>((resolve) => release = resolve);
  const recorder = new Recorder((id) => id === "slow" ? gate : Promise.resolve());
  const kv = await Deno.openKv(":memory:");
  const outbox = new KvOutbox(kv);
  const listening = outbox.listen(recorder.handler);
  try {
    await outbox.enqueue(message("slow"));
    await until(() => recorder.counts.has("slow"), "the slow handler to start");
    let closed = false;
    const closing = outbox.close().then(() => closed = true);
    await outbox.enqueue(message("after"));
    await pause(300);
    assert.equal(closed, false, "close() waits for the running handler");
    release();
    await closing;
    await listening;
    assert.equal(recorder.counts.has("after"), false);
    assert.equal(await outboxSize(kv), 1, "the unclaimed message stays queued");
  } finally {
    release();
    await outbox.close();
    kv.close();
  }
});

Deno.test("KvOutbox: two instances on one KV file never handle a message twice", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/outbox.kv`;
    const [kvA, kvB] = [await Deno.openKv(path), await Deno.openKv(path)];
    const ids = await enqueueMany(kvA, 300);
    const byWorker = [new Recorder(() => pause(1)), new Recorder(() => pause(1))] as const;
    const workers = [new KvOutbox(kvA, { concurrency: 4 }), new KvOutbox(kvB, { concurrency: 4 })];
    const listening = workers.map((w, i) => w.listen(byWorker[i]!.handler));
    try {
      const total = () => byWorker[0].handled + byWorker[1].handled;
      await until(() => total() === ids.length, "every message", 8_000);
      await waitForEmpty(kvA);
      const all = [...byWorker[0].counts, ...byWorker[1].counts];
      assert.equal(all.length, ids.length, "no message went to both instances");
      assert.ok(all.every(([, n]) => n === 1), "no message ran twice in one instance");
      assert.ok(byWorker.every((r) => r.handled > 0), "both instances took part");
    } finally {
      await Promise.all(workers.map((w) => w.close()));
      kvA.close();
      kvB.close();
      await Promise.all(listening);
    }
  });
});

Deno.test("KvOutbox: two processes on one KV file never handle a message twice", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/outbox.kv`;
    const kv = await Deno.openKv(path);
    const ids = await enqueueMany(kv, 400);
    kv.close();
    const goPath = `${dir}/go`;
    const logs = [`${dir}/a.log`, `${dir}/b.log`];
    const children = logs.map((log) =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--config",
          new URL("../../deno.json", import.meta.url).pathname,
          new URL("./_outbox_child.ts", import.meta.url).pathname,
          path,
          log,
          goPath,
        ],
        stdout: "piped",
        stderr: "piped",
      }).spawn()
    );
    const exists = (file: string) => Deno.stat(file).then(() => true, () => false);
    const ready = async () =>
      (await Promise.all(logs.map((l) => exists(`${l}.ready`)))).every(Boolean);
    const deadline = Date.now() + 8_000;
    while (!(await ready()) && Date.now() < deadline) await pause(20);
    await Deno.writeTextFile(goPath, "");
    const outputs = await Promise.all(children.map((child) => child.output()));
    for (const output of outputs) {
      assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    }
    const handled = await Promise.all(
      logs.map(async (log) => (await Deno.readTextFile(log).catch(() => "")).split("\n")),
    );
    const [a, b] = handled.map((lines) => lines.filter(Boolean));
    assert.ok(a && b);
    assert.equal(new Set(a).size, a.length, "process A ran no message twice");
    assert.equal(new Set(b).size, b.length, "process B ran no message twice");
    assert.deepEqual(a.filter((id) => b.includes(id)), [], "no message ran in both processes");
    assert.deepEqual([...a, ...b].sort(), [...ids].sort());
    assert.ok(a.length > 0 && b.length > 0, `both processes took part (${a.length}, ${b.length})`);
  });
});

Deno.test("KvOutbox: listen() reclaims a message whose lease expired", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/outbox.kv`;
    const options: KvOutboxOptions = { leaseMs: 300 };
    const [kvA, kvB] = [await Deno.openKv(path), await Deno.openKv(path)];
    let release = () => {};
    const gate = new Promise<void>((resolve) => release = resolve);
    let startedA = 0;
    const dying = new KvOutbox(kvA, options);
    const listeningA = dying.listen(() => {
      startedA = Date.now();
      return gate;
    });
    const recorder = new Recorder();
    const survivor = new KvOutbox(kvB, options);
    let listeningB: Promise<void> | undefined;
    try {
      await dying.enqueue(message("orphan"));
      await until(() => startedA > 0, "the first worker to claim");
      // The first worker "dies": its KV handle goes away, so it can neither renew nor settle.
      kvA.close();
      listeningB = survivor.listen(recorder.handler);
      await pause(150);
      assert.equal(recorder.handled, 0, "not reclaimed while the lease holds");
      await until(() => recorder.handled === 1, "the reclaimed message");
      const waited = recorder.times.get("orphan")! - startedA;
      assert.ok(waited >= 250, `reclaimed ${waited} ms after the claim`);
      await pause(100);
      assert.equal(await outboxSize(kvB), 0);
    } finally {
      release();
      await dying.close();
      await listeningA;
      await survivor.close();
      kvB.close();
      await listeningB;
    }
  });
});

Deno.test("KvOutbox: listen() renews the lease of a handler that outlasts it", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/outbox.kv`;
    // A handler three times as long as the lease: renewals must keep the other worker off it,
    // with room for a loaded machine's timer delays.
    const options: KvOutboxOptions = { leaseMs: 600 };
    const [kvA, kvB] = [await Deno.openKv(path), await Deno.openKv(path)];
    const byWorker = [new Recorder(() => pause(1_800)), new Recorder(() => pause(1_800))] as const;
    const workers = [new KvOutbox(kvA, options), new KvOutbox(kvB, options)];
    const listening = workers.map((w, i) => w.listen(byWorker[i]!.handler));
    try {
      await workers[0]!.enqueue(message("long"));
      await until(
        () => byWorker[0].handled + byWorker[1].handled === 1,
        "the long handler",
        6_000,
      );
      await pause(700);
      const calls = byWorker.map((r) => r.counts.get("long") ?? 0);
      assert.deepEqual(calls.sort(), [0, 1]);
      assert.equal(await outboxSize(kvA), 0);
    } finally {
      await Promise.all(workers.map((w) => w.close()));
      kvA.close();
      kvB.close();
      await Promise.all(listening);
    }
  });
});

Deno.test("KvOutbox: listen() keeps a dead letter after the last retry fails", async () => {
  const kv = await Deno.openKv(":memory:");
  const outbox = new KvOutbox(kv, { backoffMs: [20, 20] });
  let calls = 0;
  const listening = outbox.listen(() => {
    calls++;
    return Promise.reject(new Error("always fails"));
  });
  try {
    await outbox.enqueue(message("poison"));
    await until(() => calls === 3, "three attempts");
    let dead: DeadOutboxEntry[] = [];
    const deadline = Date.now() + 2_000;
    while (dead.length === 0 && Date.now() < deadline) {
      const entries = await Array.fromAsync(
        kv.list<DeadOutboxEntry>({ prefix: outboxDeadPrefix() }),
      );
      dead = entries.map((entry) => entry.value);
      await pause(10);
    }
    assert.equal(dead.length, 1);
    assert.equal(dead[0]!.attempts, 3);
    assert.equal(dead[0]!.error, "Error: always fails");
    assert.deepEqual(dead[0]!.message, message("poison"));
    assert.equal(await outboxSize(kv), 0);
    await pause(100);
    assert.equal(calls, 3);
  } finally {
    await outbox.close();
    kv.close();
    await listening;
  }
});
