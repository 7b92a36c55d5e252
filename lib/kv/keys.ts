/**
 * Every Deno KV key Sluice uses, in one place, so the storage model reads at once.
 *
 * ```
 * ["ws", wsId]                         Workspace
 * ["ws_public", publicId]              → wsId
 * ["ws_origin", origin, wsId]          → true; CORS preflight lookup of allowed origins
 * ["key", sha256(secret)]              ApiKeyRecord (the credential lookup)
 * ["ws_key", wsId, keyId]              → sha256(secret); lists and revokes a workspace's keys
 * ["ev", wsId, ulid]                   SealedEvent bytes (expireIn = retention); ulid order = time order
 * ["ev_id", wsId, eventId]             EventIdEntry {ulid, dedup_until} (dedup check + lookup)
 * ["handoff", wsId, ulid]              RoutedHandoff: the event reached fan-out, and its routes: the
 *                                      pending or skipped deliveries that have no dlv row yet
 * ["stat", wsId, hourMs, metric, dim]  Deno.KvU64 ingest volume counter (UTC hour)
 * ["stat_d", wsId, dayMs, metric, dim] Deno.KvU64 the same counter's UTC-day rollup
 * ["an", wsId, family, grain, bucketMs, dim]
 *                                      Deno.KvU64 analytics counter (lib/analytics/counters.ts);
 *                                      grain "h" (UTC hour), "d" (UTC day), "w" (week from Monday)
 * ["an_vis", wsId, visitorHash]        VisitorRecord: today's funnel steps, first and last touch
 * ["an_ord", wsId, orderId]            OrderEntry: the first event of an order id (expireIn 30 d)
 * ["an_miss", wsId, ulid, destId]      MissingDelivery: an order's delivery not (yet) accepted
 * ["an_labels", wsId, dimension]       string[]: the bounded labels a dimension may take
 * ["an_ex", wsId, scope, issue]        IssueExample: the latest example of a data-quality issue
 * ["rl", scope, windowStart]           Deno.KvU64 rate-limit counter
 * ["dest", wsId, destId]               Destination (secrets sealed)
 * ["dlv", wsId, ulid, destId]          DeliveryRow: one event's delivery to one destination, written
 *                                      on the first answer (or by replay, forward, retry-failed)
 * ["rule", wsId, ruleId]               RoutingRule
 * ["hook", wsId, hookId]               Webhook (secrets sealed)
 * ["hook_guard", wsId]                 number bumped by every webhook create (serialises the limit check)
 * ["hook_health", wsId, hookId]        WebhookHealth {failing_since}: present while every send fails
 * ["hook_msg", wsId, msgId]            WebhookMessage: one notice, sent to every subscribed webhook
 * ["hook_dlv", wsId, hookId, dlvId]    WebhookDelivery: one message to one webhook, with its attempts;
 *                                      dlvId is a ULID, so the log reads in time order
 * ["outbox", dueMs, id]                OutboxEntry {message, attempts, leased}: the kv-outbox queue,
 *                                      due-time order; when leased, dueMs is the lease expiry
 * ["outbox_dead", id]                  DeadOutboxEntry: gave up after the last retry (expireIn 7 d)
 * ```
 */

/** A workspace record. */
export const workspaceKey = (wsId: string) => ["ws", wsId] as const;
/** Maps a workspace's public id (`pk_…`) to its id. */
export const workspacePublicKey = (publicId: string) => ["ws_public", publicId] as const;
/** Marks an origin as allowed by a workspace. */
export const workspaceOriginKey = (origin: string, wsId: string) =>
  ["ws_origin", origin, wsId] as const;
/** Prefix of every workspace that allows an origin. */
export const workspaceOriginPrefix = (origin: string) => ["ws_origin", origin] as const;

/** An API key record, addressed by the SHA-256 of its secret. */
export const apiKeyKey = (secretHash: string) => ["key", secretHash] as const;
/** A workspace's key id → secret hash index. */
export const workspaceApiKeyKey = (wsId: string, keyId: string) => ["ws_key", wsId, keyId] as const;
/** Prefix of a workspace's key index. */
export const workspaceApiKeyPrefix = (wsId: string) => ["ws_key", wsId] as const;

/** A stored event. */
export const eventKey = (wsId: string, ulid: string) => ["ev", wsId, ulid] as const;
/** Prefix of a workspace's stored events, in time order. */
export const eventPrefix = (wsId: string) => ["ev", wsId] as const;
/** The dedup entry and lookup index of an event id. */
export const eventIdKey = (wsId: string, eventId: string) => ["ev_id", wsId, eventId] as const;
/** The record that an event was handed to fan-out. */
export const handoffKey = (wsId: string, ulid: string) => ["handoff", wsId, ulid] as const;
/** Prefix of a workspace's hand-off records, in event order. */
export const handoffPrefix = (wsId: string) => ["handoff", wsId] as const;

/** An analytics counter for one hour bucket. */
export const statKey = (wsId: string, hourMs: number, metric: string, dimension = "") =>
  ["stat", wsId, hourMs, metric, dimension] as const;
/** Prefix of a workspace's counters for one hour bucket. */
export const statHourPrefix = (wsId: string, hourMs: number) => ["stat", wsId, hourMs] as const;
/** Prefix of a workspace's ingest volume counters (hour buckets). */
export const statPrefix = (wsId: string) => ["stat", wsId] as const;
/** The UTC-day rollup of an ingest volume counter. */
export const statDayKey = (wsId: string, dayMs: number, metric: string, dimension = "") =>
  ["stat_d", wsId, dayMs, metric, dimension] as const;
/** Prefix of a workspace's ingest volume day rollups. */
export const statDayPrefix = (wsId: string) => ["stat_d", wsId] as const;

/** An analytics counter of one family, grain (`h` UTC hour, `d` UTC day, `w` UTC week) and bucket. */
export const analyticsCounterKey = (
  wsId: string,
  family: string,
  grain: "h" | "d" | "w",
  bucketMs: number,
  dimension: string,
) => ["an", wsId, family, grain, bucketMs, dimension] as const;
/** Prefix of one analytics counter family at one grain, in bucket order. */
export const analyticsCounterPrefix = (wsId: string, family: string, grain: "h" | "d" | "w") =>
  ["an", wsId, family, grain] as const;
/** Prefix of every analytics counter of a workspace. */
export const analyticsPrefix = (wsId: string) => ["an", wsId] as const;
/** A visitor's analytics state (funnel steps of the day, first and last touch). */
export const visitorKey = (wsId: string, visitorHash: string) =>
  ["an_vis", wsId, visitorHash] as const;
/** The first event seen with an order id. */
export const orderKey = (wsId: string, orderId: string) => ["an_ord", wsId, orderId] as const;
/** An order's delivery to one destination that has not been accepted (yet). */
export const missingOrderKey = (wsId: string, ulid: string, destId: string) =>
  ["an_miss", wsId, ulid, destId] as const;
/** Prefix of a workspace's missing order deliveries, in event order. */
export const missingOrderPrefix = (wsId: string) => ["an_miss", wsId] as const;
/** The labels one bounded dimension (utm_source) may take in a workspace. */
export const labelSetKey = (wsId: string, dimension: string) =>
  ["an_labels", wsId, dimension] as const;
/** The latest example of one data-quality issue (`scope`: a destination id, or `ingest`). */
export const issueExampleKey = (wsId: string, scope: string, issue: string) =>
  ["an_ex", wsId, scope, issue] as const;
/** Prefix of a workspace's issue examples. */
export const issueExamplePrefix = (wsId: string) => ["an_ex", wsId] as const;

/** A rate-limit counter for one fixed window. */
export const rateLimitKey = (scope: string, windowStart: number) =>
  ["rl", scope, windowStart] as const;

/** A destination (platform connection) of a workspace. */
export const destinationKey = (wsId: string, destId: string) => ["dest", wsId, destId] as const;
/** Prefix of a workspace's destinations. */
export const destinationPrefix = (wsId: string) => ["dest", wsId] as const;

/** The delivery row of one event to one destination. */
export const deliveryKey = (wsId: string, ulid: string, destId: string) =>
  ["dlv", wsId, ulid, destId] as const;
/** Prefix of a workspace's delivery rows, in event order. */
export const deliveryPrefix = (wsId: string) => ["dlv", wsId] as const;
/** Prefix of one event's delivery rows. */
export const eventDeliveriesPrefix = (wsId: string, ulid: string) => ["dlv", wsId, ulid] as const;

/** A routing rule of a workspace. */
export const ruleKey = (wsId: string, ruleId: string) => ["rule", wsId, ruleId] as const;
/** Prefix of a workspace's routing rules. */
export const rulePrefix = (wsId: string) => ["rule", wsId] as const;

/** A kv-outbox message, ordered by the time it is due (when leased: the lease expiry). */
export const outboxKey = (dueMs: number, id: string) => ["outbox", dueMs, id] as const;
/** Prefix of the kv-outbox due-time index. */
export const outboxPrefix = () => ["outbox"] as const;
/** A kv-outbox message whose handler failed on every attempt. */
export const outboxDeadKey = (id: string) => ["outbox_dead", id] as const;
/** Prefix of the kv-outbox dead letters. */
export const outboxDeadPrefix = () => ["outbox_dead"] as const;

/** A webhook of a workspace. */
export const webhookKey = (wsId: string, hookId: string) => ["hook", wsId, hookId] as const;
/** Prefix of a workspace's webhooks. */
export const webhookPrefix = (wsId: string) => ["hook", wsId] as const;
/** Bumped by every webhook create, so concurrent creates cannot pass the limit together. */
export const webhookCreateGuardKey = (wsId: string) => ["hook_guard", wsId] as const;
/** Since when every send to a webhook has failed; absent while it is healthy. */
export const webhookHealthKey = (wsId: string, hookId: string) =>
  ["hook_health", wsId, hookId] as const;
/** A webhook message (the notice every subscribed webhook receives). */
export const webhookMessageKey = (wsId: string, messageId: string) =>
  ["hook_msg", wsId, messageId] as const;
/** One message's delivery to one webhook. */
export const webhookDeliveryKey = (wsId: string, hookId: string, deliveryId: string) =>
  ["hook_dlv", wsId, hookId, deliveryId] as const;
/** Prefix of one webhook's delivery log. */
export const webhookDeliveryPrefix = (wsId: string, hookId: string) =>
  ["hook_dlv", wsId, hookId] as const;
