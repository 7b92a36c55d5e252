/**
 * Everything sealed with a master-secret-derived key (lib/crypto.ts `Sealer`), by key
 * prefix: what a `SLUICE_SECRET` rotation re-seals. A module that seals something new
 * under its own prefix adds its scope here (the rotation test then covers it).
 *
 * @module
 */
import type { Sealer } from "../crypto.ts";
import { everyDestinationPrefix, everyEventPrefix, everyWebhookPrefix } from "../kv/keys.ts";

/** One kind of sealed value: where it lives, its key purpose, and how to re-seal it. */
export interface SealedScope {
  /** Names the scope in progress records and messages. */
  name: string;
  /** Prefix of every key holding it (across workspaces). */
  prefix: Deno.KvKey;
  /** The HKDF purpose its Sealer is created with. */
  purpose: string;
  /**
   * The value with its sealed parts sealed again under the current key; undefined when
   * they already are. Throws when no key opens them.
   */
  reseal(value: unknown, sealer: Sealer): unknown;
}

/** A record with a `secrets_sealed` field (destinations, webhooks). */
function resealField(value: unknown, sealer: Sealer): unknown {
  const record = value as { secrets_sealed?: unknown };
  if (typeof record?.secrets_sealed !== "string") return undefined;
  const again = sealer.reseal(record.secrets_sealed);
  return again === undefined ? undefined : { ...record, secrets_sealed: again };
}

/** Every scope, in the order a rotation walks them. */
export const SEALED_SCOPES: readonly SealedScope[] = [
  {
    name: "destinations",
    prefix: everyDestinationPrefix(),
    purpose: "destination-secrets",
    reseal: resealField,
  },
  {
    name: "webhooks",
    prefix: everyWebhookPrefix(),
    purpose: "webhook-secrets",
    reseal: resealField,
  },
  {
    name: "events",
    prefix: everyEventPrefix(),
    purpose: "event",
    reseal: (value, sealer) => value instanceof Uint8Array ? sealer.resealBytes(value) : undefined,
  },
];
