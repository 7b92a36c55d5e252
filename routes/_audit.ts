/**
 * Records management API changes in the audit log: after a successful state-changing call
 * on a management route, the action (from the route), the API key that made it and the id
 * it targeted (a redelivery also names the delivery). Never a body, so never a secret.
 * Ingest calls are not changes and are not recorded.
 *
 * @module
 */
import { errorText, log } from "../lib/log.ts";
import type { MiddlewareHandler } from "hono";
import type { Runtime } from "../lib/runtime.ts";
import type { AppEnv } from "./_env.ts";

/** Route (method and Hono path) → audit action. */
const ACTIONS: Record<string, string> = {
  "POST /v1/platforms": "platform.create",
  "PATCH /v1/platforms/:id": "platform.update",
  "DELETE /v1/platforms/:id": "platform.delete",
  "POST /v1/platforms/:id/test": "platform.test",
  "POST /v1/rules": "rule.create",
  "PATCH /v1/rules/:id": "rule.update",
  "PUT /v1/rules/:id": "rule.update",
  "DELETE /v1/rules/:id": "rule.delete",
  "POST /v1/api-keys": "api_key.create",
  "DELETE /v1/api-keys/:id": "api_key.revoke",
  "POST /v1/api-keys/:id/rotate": "api_key.rotate",
  "POST /v1/webhooks": "webhook.create",
  "PATCH /v1/webhooks/:id": "webhook.update",
  "DELETE /v1/webhooks/:id": "webhook.delete",
  "POST /v1/webhooks/:id/rotate-secret": "webhook.rotate_secret",
  "POST /v1/webhooks/:id/test": "webhook.test",
  "POST /v1/webhooks/:id/deliveries/:delivery_id/redeliver": "webhook.redeliver",
  "POST /v1/events/:event_id/replay": "event.replay",
  "POST /v1/events/:event_id/forward": "event.forward",
  "POST /v1/events/:event_id/retry-failed": "event.retry_failed",
  "POST /v1/deliveries/retry": "deliveries.retry",
  "POST /v1/sources": "source.create",
  "PATCH /v1/sources/:id": "source.update",
  "DELETE /v1/sources/:id": "source.delete",
  "PATCH /v1/workspace": "workspace.update",
};

/** The audit action of a management route, or undefined for reads and ingest. */
export function auditActionOf(method: string, routePath: string): string | undefined {
  return ACTIONS[`${method} ${routePath}`];
}

/** The `id` of what a create answered, read from a copy of the JSON body. */
async function createdId(res: Response): Promise<string | undefined> {
  if (res.status !== 201 || !res.headers.get("content-type")?.includes("json")) return undefined;
  const body: unknown = await res.clone().json().catch(() => undefined);
  if (typeof body !== "object" || body === null || !("id" in body)) return undefined;
  return typeof body.id === "string" ? body.id : undefined;
}

/** Records successful management changes made with an API key. */
export function auditApiChanges(rt: Runtime): MiddlewareHandler<AppEnv> {
  return async function auditApi(c, next) {
    await next();
    if (c.req.method === "GET" || c.res.status >= 400) return;
    const key = c.get("apiKey");
    if (!key) return;
    const action = auditActionOf(c.req.method, c.req.routePath);
    if (!action) return;
    try {
      const target = c.req.param("id") ?? c.req.param("event_id") ?? await createdId(c.res);
      const deliveryId = c.req.param("delivery_id");
      await rt.audit.record(key.workspace_id, {
        actor: { kind: "api_key", id: key.id },
        action,
        target,
        note: deliveryId ? `through the API: delivery ${deliveryId}` : "through the API",
      });
    } catch (error) {
      log.error("Cannot record an audit entry", { action, error: errorText(error) });
    }
  };
}
