import assert from "node:assert/strict";
import { KeyedLimiter } from "./keyed_limiter.ts";

/** Lets queued promise callbacks run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Tasks that start when the limiter lets them and finish when the test says so. */
class Tasks {
  readonly started: string[] = [];
  readonly running = new Map<string, number>();
  readonly maxRunning = new Map<string, number>();
  readonly #release = new Map<string, PromiseWithResolvers<void>>();

  constructor(readonly limiter: KeyedLimiter) {}

  /** Queues task `name` on `key`; it holds its slot until `finish(name)` or `fail(name)`. */
  run(key: string, name: string): Promise<string> {
    const gate = Promise.withResolvers<void>();
    this.#release.set(name, gate);
    return this.limiter.run(key, async () => {
      this.started.push(name);
      const now = (this.running.get(key) ?? 0) + 1;
      this.running.set(key, now);
      this.maxRunning.set(key, Math.max(this.maxRunning.get(key) ?? 0, now));
      try {
        await gate.promise;
        return name;
      } finally {
        this.running.set(key, (this.running.get(key) ?? 1) - 1);
      }
    });
  }

  finish(name: string): void {
    this.#release.get(name)!.resolve();
  }

  fail(name: string): void {
    this.#release.get(name)!.reject(new Error(`task ${name} failed`));
  }
}

Deno.test("KeyedLimiter.run() runs at most perKey tasks of one key at once", async () => {
  const tasks = new Tasks(new KeyedLimiter(2));
  const runs = ["a1", "a2", "a3", "a4", "a5"].map((name) => tasks.run("a", name));
  await settle();
  assert.deepEqual(tasks.started, ["a1", "a2"]);
  assert.equal(tasks.running.get("a"), 2);
  tasks.finish("a1");
  await settle();
  assert.deepEqual(tasks.started, ["a1", "a2", "a3"]);
  assert.equal(tasks.running.get("a"), 2);
  for (const name of ["a2", "a3", "a4", "a5"]) {
    tasks.finish(name);
    await settle();
  }
  assert.deepEqual(await Promise.all(runs), ["a1", "a2", "a3", "a4", "a5"]);
  assert.equal(tasks.maxRunning.get("a"), 2);
  assert.equal(tasks.running.get("a"), 0);
});

Deno.test("KeyedLimiter.run() keeps counting while some of a key's slots are busy", async () => {
  const tasks = new Tasks(new KeyedLimiter(2));
  const first = [tasks.run("k", "b1"), tasks.run("k", "b2")];
  await settle();
  tasks.finish("b1");
  assert.equal(await first[0], "b1");
  // One slot is free, one still busy: only one more may start.
  const more = [tasks.run("k", "b3"), tasks.run("k", "b4")];
  await settle();
  assert.deepEqual(tasks.started, ["b1", "b2", "b3"]);
  assert.equal(tasks.running.get("k"), 2);
  for (const name of ["b2", "b3", "b4"]) tasks.finish(name);
  assert.deepEqual(await Promise.all([...first, ...more]), ["b1", "b2", "b3", "b4"]);
  assert.equal(tasks.maxRunning.get("k"), 2);
});

Deno.test("KeyedLimiter.run() does not hold back a key while another key is full", async () => {
  const tasks = new Tasks(new KeyedLimiter(2));
  const full = ["a1", "a2", "a3"].map((name) => tasks.run("a", name));
  await settle();
  assert.deepEqual(tasks.started, ["a1", "a2"]);
  const other = [tasks.run("b", "b1"), tasks.run("b", "b2")];
  await settle();
  assert.deepEqual(tasks.started, ["a1", "a2", "b1", "b2"]);
  tasks.finish("b1");
  tasks.finish("b2");
  assert.deepEqual(await Promise.all(other), ["b1", "b2"]);
  assert.deepEqual(tasks.started, ["a1", "a2", "b1", "b2"]);
  for (const name of ["a1", "a2", "a3"]) tasks.finish(name);
  assert.deepEqual(await Promise.all(full), ["a1", "a2", "a3"]);
  assert.equal(tasks.maxRunning.get("a"), 2);
  assert.equal(tasks.maxRunning.get("b"), 2);
});

Deno.test("KeyedLimiter.run() starts waiters in arrival order", async () => {
  const tasks = new Tasks(new KeyedLimiter(2));
  const runs = ["w1", "w2", "w3", "w4", "w5", "w6"].map((name) => tasks.run("k", name));
  await settle();
  // Free the slots in the opposite order to the one the holders started in.
  tasks.finish("w2");
  await settle();
  assert.deepEqual(tasks.started, ["w1", "w2", "w3"]);
  tasks.finish("w3");
  await settle();
  assert.deepEqual(tasks.started, ["w1", "w2", "w3", "w4"]);
  tasks.finish("w1");
  await settle();
  assert.deepEqual(tasks.started, ["w1", "w2", "w3", "w4", "w5"]);
  tasks.finish("w5");
  await settle();
  assert.deepEqual(tasks.started, ["w1", "w2", "w3", "w4", "w5", "w6"]);
  tasks.finish("w4");
  tasks.finish("w6");
  assert.deepEqual(await Promise.all(runs), ["w1", "w2", "w3", "w4", "w5", "w6"]);
  assert.equal(tasks.maxRunning.get("k"), 2);
});

Deno.test("KeyedLimiter.run() frees the slot of a task that throws", async () => {
  const limiter = new KeyedLimiter(2);
  const tasks = new Tasks(limiter);
  const first = tasks.run("k", "t1");
  const second = tasks.run("k", "t2");
  const third = tasks.run("k", "t3");
  await settle();
  assert.deepEqual(tasks.started, ["t1", "t2"]);
  tasks.fail("t1");
  await assert.rejects(first, /task t1 failed/);
  await settle();
  assert.deepEqual(tasks.started, ["t1", "t2", "t3"]);

  // A task that throws before its first await frees its slot too.
  const sync = assert.rejects(
    limiter.run("k", () => {
      throw new Error("synchronous failure");
    }),
    /synchronous failure/,
  );
  const fourth = tasks.run("k", "t4");
  tasks.finish("t2");
  await settle();
  await sync;
  await settle();
  assert.deepEqual(tasks.started, ["t1", "t2", "t3", "t4"]);
  tasks.finish("t3");
  tasks.finish("t4");
  assert.deepEqual(await Promise.all([second, third, fourth]), ["t2", "t3", "t4"]);
  assert.equal(tasks.maxRunning.get("k"), 2);
});

Deno.test("KeyedLimiter.run() starts at once again when all work of a key is done", async () => {
  const limiter = new KeyedLimiter(2);
  const tasks = new Tasks(limiter);
  const first = ["r1", "r2", "r3"].map((name) => tasks.run("k", name));
  await settle();
  tasks.fail("r1");
  for (const name of ["r2", "r3"]) tasks.finish(name);
  await Promise.allSettled(first);

  // Both slots are free again: two runs start synchronously, the third waits.
  let started = 0;
  const gate = Promise.withResolvers<void>();
  const work = async () => {
    started++;
    await gate.promise;
    return started;
  };
  const again = [limiter.run("k", work), limiter.run("k", work), limiter.run("k", work)];
  assert.equal(started, 2);
  gate.resolve();
  await Promise.all(again);
  assert.equal(started, 3);

  let ran = false;
  const after = limiter.run("k", () => {
    ran = true;
    return Promise.resolve("done");
  });
  assert.equal(ran, true);
  assert.equal(await after, "done");
});
