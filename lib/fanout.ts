import type { IngestedMessage } from "./queue/mod.ts";
import { handoffKey } from "./kv_keys.ts";
import type { HandoffRecord } from "./event_store.ts";

const RETENTION_MS = 30 * 86_400_000;

/**
 * The consumer end of ingestion: takes a committed group off the queue and records that
 * each event reached fan-out. The delivery engine routes the same group to destinations.
 */
export async function handleIngested(kv: Deno.Kv, message: IngestedMessage): Promise<void> {
  const record: HandoffRecord = { at: Date.now() };
  const op = kv.atomic();
  for (const id of message.ids) {
    op.set(handoffKey(message.workspace_id, id), record, { expireIn: RETENTION_MS });
  }
  const result = await op.commit();
  if (!result.ok) throw new Error(`Cannot record hand-off of ${message.ids.length} events`);
}
