import type { z } from "zod";
import type { SluiceEvent } from "../core/event.ts";

/** Destination types (API.md); each has one connector module. */
export const PLATFORM_TYPES = [
  "meta",
  "ga4",
  "google_ads",
  "tiktok",
  "snapchat",
  "pinterest",
  "linkedin",
  "reddit",
  "microsoft",
  "klaviyo",
  "webhook",
] as const;

/** One destination type. */
export type PlatformType = typeof PLATFORM_TYPES[number];

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
}

/** The platform's answer, as the delivery engine received it. */
export interface PlatformResponse {
  status: number;
  headers: Headers;
  /** The body as text (the engine keeps only a snippet of it in the delivery log). */
  body: string;
}

/** How an answer is taken: the engine records, retries or gives up accordingly. */
export type Classification =
  | { kind: "delivered"; detail?: string }
  | {
    kind: "retry";
    reason: string; /** From Retry-After or the platform's own hint. */
    afterMs?: number;
  }
  | { kind: "failed"; reason: string }
  | { kind: "auth_failed"; reason: string };

/**
 * A destination platform: pure mapping from canonical events to HTTP requests, and from
 * the platform's answer to a classification. It never touches KV or the network.
 */
export interface Connector<S extends z.ZodType = z.ZodType> {
  id: PlatformType;
  label: string;
  /** The platform's API reference. */
  docsUrl: string;
  /** Settings as stored and validated; every connector accepts an `endpoint` override. */
  settings: S;
  /** Settings fields that are secrets: encrypted at rest, masked in every answer. */
  secretFields: readonly string[];
  /** Most events one request may carry. */
  batchLimit: number;
  map(events: readonly SluiceEvent[], settings: z.output<S>, options: MapOptions): MapResult;
  classify(response: PlatformResponse): Classification;
}
