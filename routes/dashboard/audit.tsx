/** The audit log: who changed what in this workspace, newest first. */
import { Hono } from "hono";
import { formatTime } from "../../components/format.ts";
import type { AuditEntry } from "../../lib/audit/log.ts";
import type { Runtime } from "../../lib/runtime.ts";
import type { DashboardEnv } from "./_env.ts";
import { page } from "./_render.tsx";

const PAGE_SIZE = 50;

/** `GET /audit`. */
export function auditRoutes(rt: Runtime): Hono<DashboardEnv> {
  const app = new Hono<DashboardEnv>();
  app.get("/audit", async (c) => {
    const wsId = c.get("workspace").id;
    const cursor = c.req.query("cursor");
    let result: { data: AuditEntry[]; next_cursor: string | null };
    try {
      result = await rt.audit.list(wsId, { limit: PAGE_SIZE, cursor });
    } catch {
      result = { data: [], next_cursor: null };
    }
    // Actors are stored by id: their emails are looked up now, so the log holds none.
    const emails = new Map<string, string>();
    for (const entry of result.data) {
      if (entry.actor.kind === "account" && !emails.has(entry.actor.id)) {
        emails.set(
          entry.actor.id,
          (await rt.accounts.get(entry.actor.id))?.email ?? "deleted account",
        );
      }
    }
    const actorOf = (entry: AuditEntry) =>
      entry.actor.kind === "account"
        ? emails.get(entry.actor.id)!
        : entry.actor.kind === "api_key"
        ? `API key ${entry.actor.id}`
        : "Sluice";
    return page(
      c,
      "Audit log",
      <>
        <p class="muted">
          Changes to destinations, rules, keys, webhooks and people, and replays, from the dashboard
          and the API. Entries name ids, never payloads or secrets.
        </p>
        {result.data.length === 0 ? <p>Nothing has been changed yet.</p> : (
          <div class="table-wrap">
            <table class="stacked">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Who</th>
                  <th scope="col">What</th>
                  <th scope="col">Target</th>
                  <th scope="col" class="hide-narrow">Note</th>
                </tr>
              </thead>
              <tbody>
                {result.data.map((entry) => (
                  <tr>
                    <td data-label="When">{formatTime(entry.at)}</td>
                    <td data-label="Who" class="break">{actorOf(entry)}</td>
                    <td data-label="What">
                      <code>{entry.action}</code>
                    </td>
                    <td data-label="Target" class="break">
                      {entry.target && entry.action.startsWith("event.")
                        ? <a href={`/events/${encodeURIComponent(entry.target)}`}>{entry.target}</a>
                        : entry.target ?? "—"}
                    </td>
                    <td data-label="Note" class="hide-narrow">{entry.note ?? ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {result.next_cursor && (
          <p>
            <a href={`/audit?cursor=${encodeURIComponent(result.next_cursor)}`}>Older entries</a>
          </p>
        )}
      </>,
    );
  });
  return app;
}
