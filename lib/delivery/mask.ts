/**
 * Masks secrets in what the dashboard shows of a request: every secret setting's value and
 * the access token, wherever they appear (URL, headers, body), and every Authorization
 * header whole.
 *
 * @module
 */
import type { Connector, OutboundRequest } from "../../connectors/types.ts";
import { SECRET_MASK } from "./destinations.ts";

/** Values shorter than this are not masked (they would mask ordinary text). */
const MIN_SECRET_LENGTH = 4;

/** The secret values of a destination's settings, for {@linkcode maskSecrets}. */
export function secretValues(
  connector: Pick<Connector, "secretFields">,
  settings: unknown,
  accessToken?: string,
): string[] {
  const values: string[] = accessToken ? [accessToken] : [];
  if (typeof settings === "object" && settings !== null) {
    for (const field of connector.secretFields) {
      const value = (settings as Record<string, unknown>)[field];
      if (typeof value === "string") values.push(value);
    }
  }
  // Longest first, so a secret that contains another is masked whole.
  return values.filter((v) => v.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
}

/** `text` with every secret (as is, and URL-encoded) replaced by the mask. */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let masked = text;
  for (const secret of secrets) {
    for (const form of new Set([secret, encodeURIComponent(secret)])) {
      masked = masked.split(form).join(SECRET_MASK);
    }
  }
  return masked;
}

/** A request as it may be shown: secrets masked in the URL, headers and body. */
export function maskRequest(request: OutboundRequest, secrets: readonly string[]): OutboundRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    headers[name] = /^(authorization|x-api-key|api-key|access-token)$/i.test(name)
      ? SECRET_MASK
      : maskSecrets(value, secrets);
  }
  return {
    ...request,
    url: maskSecrets(request.url, secrets),
    headers,
    ...(request.body === undefined ? {} : { body: maskSecrets(request.body, secrets) }),
  };
}
