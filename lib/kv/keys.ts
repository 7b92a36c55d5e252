/**
 * Every Deno KV key Sluice uses, in one place, so the storage model reads at once.
 *
 * ```
 * ["ws", wsId]                         Workspace
 * ["ws_public", publicId]              → wsId
 * ["ws_origin", origin, wsId]          → true; CORS preflight lookup of allowed origins
 * ["key", sha256(secret)]              ApiKeyRecord (the credential lookup)
 * ["ws_key", wsId, keyId]              → sha256(secret); lists and revokes a workspace's keys
 * ["ws_key_prev", wsId, keyId]         PreviousApiKey {hash, expires_at}: the secret a rotation
 *                                      replaced, valid until expires_at (expireIn = the overlap)
 * ["ws_key_used", wsId, keyId]         Deno.KvU64 epoch ms the key last authenticated (KV `max`,
 *                                      written at most every 5 minutes per key and process)
 * ["ev", wsId, ulid]                   SealedEvent bytes (expireIn = retention); ulid order = time order
 * ["ev_id", wsId, eventId]             EventIdEntry {ulid, dedup_until} (dedup check + lookup)
 * ["find", wsId, hash, ulid]           → event id: the search index (order id, email, click ids,
 *                                      customer id, each as a SHA-256 with the workspace;
 *                                      lib/event_lookup.ts; written by fan-out), expireIn = retention
 * ["handoff", wsId, ulid]              RoutedHandoff: the event reached fan-out, and its routes: the
 *                                      pending or skipped deliveries that have no dlv row yet
 * ["stat", wsId, hourMs, metric, dim]  Deno.KvU64 ingest volume counter (UTC hour)
 * ["stat_d", wsId, dayMs, metric, dim] Deno.KvU64 the same counter's UTC-day rollup
 * ["stat_fold", wsId, dayMs, part]     a finished UTC day's hour counters folded into one record
 *                                      {dims, hours} (lib/analytics/volume_fold.ts)
 * ["stat_fold_mark", wsId]             FoldMark {from, to}: the UTC days folded (those without
 *                                      records had no counts)
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
 * ["hook", wsId, hookId]               Webhook (secrets sealed); hookId `wh_` + ULID
 * ["hook_guard", wsId]                 number bumped by every webhook create (serialises the limit check)
 * ["hook_health", wsId, hookId]        WebhookHealth {failing_since}: present while every send fails
 * ["hook_msg", wsId, msgId]            WebhookMessage: one notice, sent to every subscribed webhook
 * ["hook_dlv", wsId, hookId, dlvId]    WebhookDelivery: one message to one webhook, with its attempts;
 *                                      dlvId is a ULID, so the log reads in time order
 * ["src", wsId, srcId]                 Source: a shop or payment platform posting order webhooks
 *                                      (signing secret sealed)
 * ["src_id", srcId]                    → wsId; the unauthenticated ingest URL finds its workspace
 * ["outbox", dueMs, id]                OutboxEntry {message, attempts, leased}: the kv-outbox queue,
 *                                      due-time order; when leased, dueMs is the lease expiry
 * ["outbox_dead", id]                  DeadOutboxEntry: gave up after the last retry (expireIn 7 d)
 * ["idn_anon", wsId, anonId]           sealed BrowserSnapshot: a browser's latest identifiers (fbp, fbc,
 *                                      click ids, IP, agent); expireIn = retention
 * ["idn_link", wsId, anonId]           PersonKeys: the hashed user id, email and phone an anonymous id
 *                                      was linked to (identify, magic link); expireIn = retention
 * ["idn_person", wsId, kind, sha256]   sealed BrowserSnapshot of that person's latest browser session;
 *                                      kind uid | em | ph; expireIn = retention
 * ["account", accountId]               Account: a dashboard user (scrypt password hash, never the password)
 * ["account_email", email]             → accountId; the unique index of lower-cased emails
 * ["member", wsId, accountId]          Membership {role}: owner, member or viewer of a workspace
 * ["account_ws", accountId, wsId]      → role; the workspaces an account belongs to (the switcher)
 * ["session", sha256(id)]              Session {account, csrf, workspace} (expireIn = session life)
 * ["invite", sha256(token)]            Invitation {workspace, email, role} (expireIn 7 d)
 * ["ws_invite", wsId, inviteId]        → sha256(token); lists and revokes pending invitations
 * ["invite_email", email, inviteId]    → sha256(token); an email's pending invitations (Supabase
 *                                      sign-in accepts them), expireIn 7 d
 * ["login_fail", scope, id, window]    Deno.KvU64 failed sign-ins per account or IP (expireIn)
 * ["audit", wsId, ulid]                AuditEntry: who changed what; ulid order = time order
 * ["rotation"]                         RotationProgress: a SLUICE_SECRET rotation, resumable
 * ["backup_mark"]                      a backup's start mark (its versionstamp dates the export;
 *                                      expireIn 1 h; never exported)
 *                                      dlvId is `whd_` + a ULID, so the log reads in time order
 * ["outbox", dueMs, id]                OutboxEntry {message, attempts, leased}: the kv-outbox queue,
 *                                      due-time order; when leased, dueMs is the lease expiry
 * ["outbox_dead", id]                  DeadOutboxEntry: gave up after the last retry (expireIn 7 d)
 * ["erasure", wsId, ulid]              ErasureAuditRecord: one erasure, its identifiers as salted hashes
 * ```
 */

/** A workspace record. */
export const workspaceKey = (wsId: string) => ["ws", wsId] as const;
/** Prefix of every workspace record. */
export const workspacePrefix = () => ["ws"] as const;
export const workspacesPrefix = () => ["ws"] as const;
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
/** The secret a rotation replaced, while it is still valid. */
export const previousApiKeyKey = (wsId: string, keyId: string) =>
  ["ws_key_prev", wsId, keyId] as const;
/** When a key last authenticated (epoch ms as a Deno.KvU64). */
export const apiKeyUsedKey = (wsId: string, keyId: string) => ["ws_key_used", wsId, keyId] as const;

/** A stored event. */
export const eventKey = (wsId: string, ulid: string) => ["ev", wsId, ulid] as const;
/** Prefix of a workspace's stored events, in time order. */
export const eventPrefix = (wsId: string) => ["ev", wsId] as const;
/** Prefix of every workspace's stored events. */
export const everyEventPrefix = () => ["ev"] as const;
/** The dedup entry and lookup index of an event id. */
export const eventIdKey = (wsId: string, eventId: string) => ["ev_id", wsId, eventId] as const;
/** A search index entry: the event `ulid` holds a value whose hash is `hash`. */
export const eventLookupKey = (wsId: string, hash: string, ulid: string) =>
  ["find", wsId, hash, ulid] as const;
/** Prefix of the events holding a value with this hash, in event order. */
export const eventLookupPrefix = (wsId: string, hash: string) => ["find", wsId, hash] as const;
/** The record that an event was handed to fan-out. */
export const handoffKey = (wsId: string, ulid: string) => ["handoff", wsId, ulid] as const;
/** Prefix of a workspace's hand-off records, in event order. */
export const handoffPrefix = (wsId: string) => ["handoff", wsId] as const;

/** An analytics counter for one hour bucket. */
export const statKey = (wsId: string, hourMs: number, metric: string, dimension = "") =>
  ["stat", wsId, hourMs, metric, dimension] as const;
/** Prefix of a workspace's counters for one hour bucket. */
export const statHourPrefix = (wsId: string, hourMs: number) => ["stat", wsId, hourMs] as const;
/** Prefix of a workspace's ingest volume counters (hour buckets), in hour order. */
export const statPrefix = (wsId: string) => ["stat", wsId] as const;
/** The UTC-day rollup of an ingest volume counter. */
export const statDayKey = (wsId: string, dayMs: number, metric: string, dimension = "") =>
  ["stat_d", wsId, dayMs, metric, dimension] as const;
/** Prefix of a workspace's ingest volume day rollups. */
export const statDayPrefix = (wsId: string) => ["stat_d", wsId] as const;
/** One part of a UTC day's volume hour counters, folded into one record. */
export const statFoldKey = (wsId: string, dayMs: number, part: number) =>
  ["stat_fold", wsId, dayMs, part] as const;
/** Prefix of a workspace's folded volume days, in day order. */
export const statFoldPrefix = (wsId: string) => ["stat_fold", wsId] as const;
/** Which UTC days' volume hour counters are folded. */
export const statFoldMarkKey = (wsId: string) => ["stat_fold_mark", wsId] as const;

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
/** Prefix of every workspace's destinations. */
export const everyDestinationPrefix = () => ["dest"] as const;

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
/** Prefix of every workspace's webhooks. */
export const everyWebhookPrefix = () => ["hook"] as const;
/** Bumped by every webhook create, so concurrent creates cannot pass the limit together. */
export const webhookCreateGuardKey = (wsId: string) => ["hook_guard", wsId] as const;
/** Since when every send to a webhook has failed; absent while it is healthy. */
export const webhookHealthKey = (wsId: string, hookId: string) =>
  ["hook_health", wsId, hookId] as const;
/** A webhook message (the notice every subscribed webhook receives). */
export const webhookMessageKey = (wsId: string, messageId: string) =>
  ["hook_msg", wsId, messageId] as const;
/** Prefix of a workspace's webhook messages. */
export const webhookMessagePrefix = (wsId: string) => ["hook_msg", wsId] as const;
/** One message's delivery to one webhook. */
export const webhookDeliveryKey = (wsId: string, hookId: string, deliveryId: string) =>
  ["hook_dlv", wsId, hookId, deliveryId] as const;
/** Prefix of one webhook's delivery log. */
export const webhookDeliveryPrefix = (wsId: string, hookId: string) =>
  ["hook_dlv", wsId, hookId] as const;

/** A source (shop or payment platform posting order webhooks) of a workspace. */
export const sourceKey = (wsId: string, srcId: string) => ["src", wsId, srcId] as const;
/** Prefix of a workspace's sources. */
export const sourcePrefix = (wsId: string) => ["src", wsId] as const;
/** Maps a source id to its workspace id, for the ingest URL, which names only the source. */
export const sourceIndexKey = (srcId: string) => ["src_id", srcId] as const;
/** A browser's latest identifiers, by its anonymous id. */
export const anonSnapshotKey = (wsId: string, anonId: string) =>
  ["idn_anon", wsId, anonId] as const;
/** Prefix of a workspace's browser snapshots. */
export const anonSnapshotPrefix = (wsId: string) => ["idn_anon", wsId] as const;
/** The person (hashed user id, email, phone) an anonymous id was linked to. */
export const anonLinkKey = (wsId: string, anonId: string) => ["idn_link", wsId, anonId] as const;
/** Prefix of a workspace's links from anonymous ids to people. */
export const anonLinkPrefix = (wsId: string) => ["idn_link", wsId] as const;
/** The browser identifiers of a person's latest session, by one hashed identifier. */
export const personSnapshotKey = (wsId: string, kind: string, hash: string) =>
  ["idn_person", wsId, kind, hash] as const;
/** Prefix of a workspace's person snapshots. */
export const personSnapshotPrefix = (wsId: string) => ["idn_person", wsId] as const;
/** A dashboard account. */
export const accountKey = (accountId: string) => ["account", accountId] as const;
/** Prefix of every account. */
export const accountPrefix = () => ["account"] as const;
/** The unique index of account emails (lower-cased). */
export const accountEmailKey = (email: string) => ["account_email", email] as const;
/** An account's role in a workspace. */
export const memberKey = (wsId: string, accountId: string) => ["member", wsId, accountId] as const;
/** Prefix of a workspace's members. */
export const memberPrefix = (wsId: string) => ["member", wsId] as const;
/** The reverse of {@linkcode memberKey}: a workspace an account belongs to. */
export const accountWorkspaceKey = (accountId: string, wsId: string) =>
  ["account_ws", accountId, wsId] as const;
/** Prefix of the workspaces an account belongs to. */
export const accountWorkspacePrefix = (accountId: string) => ["account_ws", accountId] as const;
/** A dashboard session, addressed by the SHA-256 of its cookie value. */
export const sessionKey = (idHash: string) => ["session", idHash] as const;
/** A pending invitation, addressed by the SHA-256 of its token. */
export const invitationKey = (tokenHash: string) => ["invite", tokenHash] as const;
/** A workspace's invitation id → token hash index. */
export const workspaceInvitationKey = (wsId: string, inviteId: string) =>
  ["ws_invite", wsId, inviteId] as const;
/** Prefix of a workspace's pending invitations. */
export const workspaceInvitationPrefix = (wsId: string) => ["ws_invite", wsId] as const;
/** An email's invitation id → token hash index. */
export const emailInvitationKey = (email: string, inviteId: string) =>
  ["invite_email", email, inviteId] as const;
/** Prefix of an email's pending invitations. */
export const emailInvitationPrefix = (email: string) => ["invite_email", email] as const;
/** Failed sign-ins of one account (`scope` "account") or IP ("ip") in one window. */
export const loginFailureKey = (scope: "account" | "ip", id: string, windowStart: number) =>
  ["login_fail", scope, id, windowStart] as const;
/** One audit-log entry. */
export const auditKey = (wsId: string, ulid: string) => ["audit", wsId, ulid] as const;
/** Prefix of a workspace's audit log. */
export const auditPrefix = (wsId: string) => ["audit", wsId] as const;
/** The progress of a `SLUICE_SECRET` rotation (lib/rotation). */
export const rotationKey = () => ["rotation"] as const;
/** Written as a backup starts: its versionstamp dates the export (lib/backup). */
export const backupMarkKey = () => ["backup_mark"] as const;
/** Prefix of the delivery logs of all a workspace's webhooks. */
export const workspaceWebhookDeliveryPrefix = (wsId: string) => ["hook_dlv", wsId] as const;

/** The audit record of one erasure. */
export const erasureAuditKey = (wsId: string, id: string) => ["erasure", wsId, id] as const;
/** Prefix of a workspace's erasure audit records, oldest first. */
export const erasureAuditPrefix = (wsId: string) => ["erasure", wsId] as const;
