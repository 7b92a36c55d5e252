/**
 * Folder-private: the settings fields every connector declares the same way (the base-URL
 * override, other http(s) URLs, tokens and keys), so each is written once. What differs per
 * platform (ids and their formats, API versions, test codes) stays in the connector.
 *
 * @module
 */
import { z } from "zod";

/** Only http and https: anything else could not be sent to, and the SSRF guard checks these. */
const HTTP_URL = { protocol: /^https?$/ };

/**
 * An http(s) URL with a default: `endpoint` (the platform's base URL, overridable for a
 * proxy or a test server) or another endpoint such as an OAuth2 token URL.
 */
export function endpointSetting(
  defaultUrl: string,
  description = "Base URL (a proxy or test server)",
): z.ZodDefault<z.ZodURL> {
  return z.url(HTTP_URL).default(defaultUrl).describe(description);
}

/** An http(s) URL that may be left out. */
export function optionalUrlSetting(description: string): z.ZodOptional<z.ZodURL> {
  return z.url(HTTP_URL).optional().describe(description);
}

/** A required token, key or secret: trimmed, not empty. */
export function secretSetting(description: string): z.ZodString {
  return z.string().trim().min(1).describe(description);
}

/** A token, key or secret that may be left out (another credential can stand in for it). */
export function optionalSecretSetting(description: string): z.ZodOptional<z.ZodString> {
  return z.string().trim().min(1).optional().describe(description);
}
