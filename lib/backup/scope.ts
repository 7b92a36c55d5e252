/**
 * Which entries belong to one workspace, for `backup --workspace`: decided from the entry
 * alone, so that keys other modules add later are covered without a list to keep up.
 *
 * @module
 */

/**
 * Whether an entry belongs to workspace `wsId`: a key part is the id (`["ev", wsId, …]`,
 * `["ws_origin", origin, wsId]`), or the value is the id (`["ws_public", …]` → wsId), or the
 * value records it as `workspace_id` (API keys) or its queue message does (outbox entries).
 * Workspace ids are unique ULID-based strings, so nothing else matches by chance.
 */
export function belongsToWorkspace(key: Deno.KvKey, value: unknown, wsId: string): boolean {
  if (key.some((part) => part === wsId)) return true;
  if (value === wsId) return true;
  if (typeof value !== "object" || value === null) return false;
  const record = value as { workspace_id?: unknown; message?: { workspace_id?: unknown } };
  return record.workspace_id === wsId || record.message?.workspace_id === wsId;
}
