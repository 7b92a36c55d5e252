/**
 * The source contract: what every shop or payment platform module declares and does. A
 * source is pure: it checks a webhook's signature over the raw body and maps the verified
 * payload to a native event; the ingest route stores it through the ingestor.
 *
 * @module
 */
import type { z } from "@hono/zod-openapi";
import type { nativeEventSchema } from "../../core/event.ts";
import type { FieldError } from "../../core/field_error.ts";

/** A native event as a source hands it to the ingestor (the shape `POST /v1/events` takes). */
export type NativeInput = z.input<typeof nativeEventSchema>;

/** What `verify()` found: the platform signed this body with the source's secret, or why not. */
export type Verification = { ok: true } | { ok: false; reason: string };

/**
 * What `toEvents()` made of a verified payload: a purchase, a delivery that is not one
 * (another topic, an unpaid order) and why, or a payload that cannot be read as the
 * platform documents it, with the fields that were wrong.
 */
export type SourceMapping =
  | { kind: "purchase"; event: NativeInput }
  | { kind: "ignored"; reason: string }
  | { kind: "invalid"; errors: FieldError[] };

/** One shop or payment platform that posts order webhooks to Sluice. */
export interface SourcePlatform {
  /** The `type` of `POST /v1/sources` and the `{type}` of the ingest URL. */
  id: string;
  label: string;
  /** The request header that carries the platform's signature. */
  signatureHeader: string;
  /** Checks that the platform signed `rawBody` with `secret`; `now` is epoch ms. */
  verify(rawBody: Uint8Array, headers: Headers, secret: string, now: number): Verification;
  /** Maps a verified payload (parsed from the raw body) to a purchase, or says why not. */
  toEvents(payload: unknown, headers: Headers): SourceMapping;
  /** Why a signing secret cannot be this platform's (a Stripe secret starts `whsec_`). */
  secretProblem(secret: string): string | undefined;
  /**
   * Whether a request is the platform's unsigned check that the URL answers (WooCommerce's
   * ping when a webhook is saved): it is answered 200 and nothing is stored.
   */
  isPing(rawBody: Uint8Array, headers: Headers): boolean;
}
