import type { Connector, Outcome } from "../../connectors/types.ts";
import type { Destination } from "./destinations.ts";
import type { Sender } from "./send.ts";

/** Refresh this long before the platform says a token expires. */
const EXPIRY_MARGIN_MS = 60_000;

interface Cached {
  token: string;
  expiresAt: number;
}

/**
 * An access token (undefined: the settings carry their own), or why there is none (the
 * outcome every event of the attempt gets).
 */
export type TokenResult = { token?: string; fresh: boolean } | { outcome: Outcome };

/**
 * Access tokens of OAuth2 destinations (connector contract v2's `authorize` step), one per
 * destination and settings version, kept in memory until shortly before they expire. Tokens
 * are never stored, logged or returned; each process refreshes its own.
 */
export class AccessTokens {
  readonly #send: Sender;
  readonly #now: () => number;
  readonly #cache = new Map<string, Cached>();
  readonly #refreshing = new Map<string, Promise<TokenResult>>();

  constructor(send: Sender, now: () => number = Date.now) {
    this.#send = send;
    this.#now = now;
  }

  /** A token for the destination: the cached one, or a fresh one when there is none or `fresh`. */
  get(
    destination: Destination,
    connector: Connector,
    settings: unknown,
    options: { fresh?: boolean } = {},
  ): Promise<TokenResult> {
    const key = `${destination.id}|${destination.updated_at}`;
    const cached = this.#cache.get(key);
    if (cached && !options.fresh && cached.expiresAt - EXPIRY_MARGIN_MS > this.#now()) {
      return Promise.resolve({ token: cached.token, fresh: false });
    }
    let refreshing = this.#refreshing.get(key);
    if (!refreshing) {
      refreshing = this.#refresh(key, connector, settings)
        .finally(() => this.#refreshing.delete(key));
      this.#refreshing.set(key, refreshing);
    }
    return refreshing;
  }

  async #refresh(key: string, connector: Connector, settings: unknown): Promise<TokenResult> {
    const authorizer = connector.authorize;
    if (!authorizer) throw new Error(`Cannot authorize: ${connector.id} has no authorize step`);
    this.#cache.delete(key);
    const request = authorizer.request(settings);
    if (!request) return { fresh: true };
    const result = await this.#send(request);
    if (!result.response) {
      const reason = `token endpoint: ${result.error ?? "no answer"}`;
      return { outcome: result.refused ? { kind: "failed", reason } : { kind: "retry", reason } };
    }
    const read = authorizer.read(result.response);
    if ("kind" in read) return { outcome: read };
    this.#cache.set(key, { token: read.accessToken, expiresAt: this.#now() + read.expiresInMs });
    return { token: read.accessToken, fresh: true };
  }
}
