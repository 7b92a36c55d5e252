import { z } from "@hono/zod-openapi";
import { EVENT_LIMITS, type SluiceEvent } from "../../core/event.ts";
import { normalizeEmail, normalizePhone } from "../../core/pii/mod.ts";

/** The identifier kinds one erasure request may name. */
export const IDENTIFIER_KINDS = ["email", "phone", "user_id", "anonymous_id"] as const;

/** One identifier kind. */
export type IdentifierKind = typeof IDENTIFIER_KINDS[number];

const idText = z.string({ error: "must be a string" }).trim()
  .min(1, "must not be empty")
  .max(EVENT_LIMITS.idLength, `must be at most ${EVENT_LIMITS.idLength} characters`);

/** `POST /v1/erasure`: who to erase, by at least one identifier. */
export const erasureRequestSchema = z.object({
  email: z.string({ error: "must be a string holding an e-mail address" }).max(256)
    .transform((value, ctx) => {
      const email = normalizeEmail(value);
      if (email === undefined) {
        ctx.addIssue({
          code: "custom",
          message: "must be an e-mail address, like ada@example.com",
        });
        return z.NEVER;
      }
      return email;
    }).optional().openapi({ description: "Matches user_data.email (any case)" }),
  phone: z.string({ error: "must be a string holding a phone number" }).max(64)
    .transform((value, ctx) => {
      const phone = value.trim().startsWith("+") ? normalizePhone(value) : undefined;
      if (phone === undefined) {
        ctx.addIssue({
          code: "custom",
          message: "must be an international phone number with its country code, like +16505551212",
        });
        return z.NEVER;
      }
      return phone;
    }).optional().openapi({
      description: "E.164; matches user_data.phone, read with the event's country",
    }),
  user_id: idText.optional().openapi({
    description: "Matches user_data.customer_id (Segment's userId) and user_data.external_ids",
  }),
  anonymous_id: idText.optional().openapi({ description: "Matches user_data.anonymous_id" }),
}).strict().refine(
  (person) => IDENTIFIER_KINDS.some((kind) => person[kind] !== undefined),
  { message: `must name the person by at least one of ${IDENTIFIER_KINDS.join(", ")}` },
).openapi("ErasureRequest", { example: { email: "ada@example.com" } });

/** An erasure request after validation: canonical e-mail and E.164 phone. */
export type ErasureRequest = z.output<typeof erasureRequestSchema>;

/**
 * Everything that identifies one person in one workspace: the identifiers requested, plus
 * any an erasure hook links to them (an identity graph's anonymous ids).
 */
export interface Person {
  emails: Set<string>;
  phones: Set<string>;
  userIds: Set<string>;
  anonymousIds: Set<string>;
}

/** The person an erasure request names. */
export function personOf(request: ErasureRequest): Person {
  const only = (value: string | undefined) => new Set(value === undefined ? [] : [value]);
  return {
    emails: only(request.email),
    phones: only(request.phone),
    userIds: only(request.user_id),
    anonymousIds: only(request.anonymous_id),
  };
}

/** The person with more identifiers added. */
export function withLinked(
  person: Person,
  linked: Partial<Record<keyof Person, Iterable<string>>>,
) {
  const merged: Person = {
    emails: new Set(person.emails),
    phones: new Set(person.phones),
    userIds: new Set(person.userIds),
    anonymousIds: new Set(person.anonymousIds),
  };
  for (const [field, values] of Object.entries(linked) as [keyof Person, Iterable<string>][]) {
    for (const value of values) merged[field].add(value);
  }
  return merged;
}

/** The identifiers of a person, each with its kind (for the audit record). */
export function identifiersOf(person: Person): { kind: IdentifierKind; value: string }[] {
  return [
    ...[...person.emails].map((value) => ({ kind: "email" as const, value })),
    ...[...person.phones].map((value) => ({ kind: "phone" as const, value })),
    ...[...person.userIds].map((value) => ({ kind: "user_id" as const, value })),
    ...[...person.anonymousIds].map((value) => ({ kind: "anonymous_id" as const, value })),
  ];
}

/**
 * Whether a stored event is about the person: its e-mail (canonical), phone (E.164, read with
 * the event's country; or the same digits), customer id or external ids, or anonymous id.
 */
export function isAbout(event: SluiceEvent, person: Person): boolean {
  const user = event.user_data;
  if (person.emails.size > 0 && typeof user.email === "string") {
    const email = normalizeEmail(user.email) ?? user.email.trim().toLowerCase();
    if (person.emails.has(email)) return true;
  }
  if (person.phones.size > 0 && typeof user.phone === "string") {
    const phone = normalizePhone(user.phone, user.country) ??
      `+${user.phone.replace(/\D/g, "")}`;
    if (person.phones.has(phone)) return true;
  }
  if (person.userIds.size > 0) {
    if (user.customer_id !== undefined && person.userIds.has(user.customer_id)) return true;
    if (user.external_ids?.some((id) => person.userIds.has(id))) return true;
  }
  return user.anonymous_id !== undefined && person.anonymousIds.has(user.anonymous_id);
}
