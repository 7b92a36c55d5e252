/**
 * The connector contract (v2): what every platform module declares and does. A connector
 * is pure: it maps canonical events to HTTP requests and reads the platform's answers, and
 * never touches KV or the network; the delivery engine sends, stores and retries.
 *
 * @module
 */
import type { z } from "zod";
import type { SluiceEvent } from "../core/event.ts";

/** One HTTP request a connector wants sent. */
export interface OutboundRequest {
  method: "POST" | "GET" | "PUT";
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** Positions, in the events given to `map()`, of the events this request carries. */
  eventIndexes: number[];
}

/** An event the connector will not send, and why (e.g. older than the platform accepts). */
export interface SkippedEvent {
  index: number;
  reason: string;
}

/** What `map()` returns: the requests to send, and the events left out. */
export interface MapResult {
  requests: OutboundRequest[];
  skipped: SkippedEvent[];
}

/** Context for `map()`; everything time- or mode-dependent comes in here, so `map()` stays pure. */
export interface MapOptions {
  /** Epoch ms "now", for age windows and signatures. */
  now: number;
  /** Send in the platform's test mode where it has one (Meta test_event_code, GA4 debug endpoint, …). */
  test?: boolean;
  /** The access token `authorize` obtained, for connectors that declare one. */
  accessToken?: string;
}

/** The platform's answer, as the delivery engine received it. */
export interface PlatformResponse {
  status: number;
  headers: Headers;
  /** The body as text (the engine keeps only a snippet of it in the delivery log). */
  body: string;
}

/** What became of one event at the platform. */
export type Outcome =
  | { kind: "delivered"; detail?: string }
  | {
    /**
     * Taken in, still being processed: the engine asks `followUp` later with `token`
     * (e.g. Google Data Manager's requestId) and settles the event then.
     */
    kind: "accepted";
    token: string;
    detail?: string;
  }
  | {
    kind: "retry";
    reason: string;
    /** From Retry-After or the platform's own hint. */
    afterMs?: number;
  }
  | { kind: "failed"; reason: string }
  /** The credentials were refused: the destination is paused until its settings change. */
  | { kind: "auth_failed"; reason: string };

/**
 * How a request's answer is taken, per event: `outcome` for every event of the request,
 * except those `events` names by their position in the request's `eventIndexes` (platforms
 * that answer per row, or name the failing index).
 */
export interface Classification {
  outcome: Outcome;
  events?: readonly (Outcome | undefined)[];
}

/** An access token obtained by `authorize`, and how long it is good for. */
export interface AccessGrant {
  accessToken: string;
  expiresInMs: number;
}

/** OAuth2 refresh: the engine sends the request, caches the token per destination, and refreshes once on a 401. */
export interface Authorizer<S> {
  /**
   * The token request (refresh token → access token); null when these settings carry a
   * ready access token instead (then `map()` gets no `accessToken` and uses its own).
   */
  request(settings: S): OutboundRequest | null;
  /** Reads the token endpoint's answer: a grant, or why there is none (`auth_failed`, `retry`). */
  read(response: PlatformResponse): AccessGrant | Outcome;
}

/** A later status check for `accepted` events (platforms that process asynchronously). */
export interface FollowUp<S> {
  /** When to ask first after the platform accepted, ms; later checks back off from it. */
  firstCheckAfterMs: number;
  /** When to stop asking, ms after acceptance: rows still accepted then keep that status. */
  giveUpAfterMs: number;
  /** The status request for one accepted request's token. */
  request(token: string, settings: S, options: MapOptions): OutboundRequest;
  /** Reads the status answer; an `accepted` outcome means "still processing, ask again". */
  classify(response: PlatformResponse): Classification;
}

/** Which consent signal gates a destination: ad platforms `ad_user_data`, analytics `analytics_storage`. */
export type ConsentCategory = "ads" | "analytics" | "none";

/**
 * A destination platform: pure mapping from canonical events to HTTP requests, and from
 * the platform's answer to a per-event classification, plus the facts the rest of Sluice
 * reads from it (consent category, URL settings, age window, test mode).
 */
export interface Connector<S extends z.ZodType = z.ZodType> {
  /** The destination type (`meta`, `ga4`, …): the registry key. */
  id: string;
  label: string;
  /** The platform's API reference. */
  docsUrl: string;
  /** Settings as stored and validated; every connector accepts an `endpoint` override. */
  settings: S;
  /** Settings fields that are secrets: encrypted at rest, masked in every answer. */
  secretFields: readonly string[];
  /** Settings fields that hold URLs: checked by the SSRF guard when saved and when sent to. */
  urlFields: readonly string[];
  /** Most events one request may carry. */
  batchLimit: number;
  consent: ConsentCategory;
  /**
   * The oldest event the platform takes, ms before now (undefined: no limit); older events
   * are skipped with the reason, never sent to fail.
   */
  maxEventAgeMs(event: SluiceEvent): number | undefined;
  /** How the platform's test mode works, as the platform test answer says it; null when it has none. */
  testMode: string | null;
  map(events: readonly SluiceEvent[], settings: z.output<S>, options: MapOptions): MapResult;
  classify(response: PlatformResponse, request: OutboundRequest): Classification;
  authorize?: Authorizer<z.output<S>>;
  followUp?: FollowUp<z.output<S>>;
}
