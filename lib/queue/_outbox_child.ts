// A separate process for queue_port_test.ts: drains a shared outbox file, appending each handled
// message id to its own log, and exits once the outbox is empty.
// Usage: deno run -A _outbox_child.ts <kv path> <log path> <go file>
import { outboxPrefix } from "../kv/keys.ts";
import { KvOutbox } from "./kv_outbox.ts";

const [kvPath, logPath, goPath] = Deno.args;
if (!kvPath || !logPath || !goPath) throw new Error(`Cannot start: arguments "${Deno.args}"`);

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const deadline = Date.now() + 10_000;

const kv = await Deno.openKv(kvPath);
const outbox = new KvOutbox(kv, { concurrency: 4 });
await Deno.writeTextFile(`${logPath}.ready`, "");
while (!(await Deno.stat(goPath).then(() => true, () => false))) await pause(5);

const listening = outbox.listen(async (message) => {
  await pause(Math.random() * 4);
  const ids = message.type === "webhook" ? [message.delivery_id] : message.ids;
  await Deno.writeTextFile(logPath, `${ids.join(",")}\n`, { append: true });
});
// Leased entries stay in the index until settled, so an empty index means all is handled.
while (Date.now() < deadline) {
  await pause(50);
  const first = await kv.list({ prefix: outboxPrefix() }, { limit: 1 }).next();
  if (first.done) break;
}
await outbox.close();
await listening;
kv.close();
