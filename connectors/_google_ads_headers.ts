/**
 * Folder-private: the headers both Google Ads paths send (Data Manager `events:ingest` and
 * `requestStatus:retrieve`, the legacy `uploadClickConversions`): the Bearer token, the JSON
 * content type, and the legacy API's developer token and manager account.
 *
 * @module
 */
import type { GoogleAdsSettings } from "./google_ads.ts";

/** The Bearer header, when `authorize` obtained a token (the platform test sends without one). */
export function bearer(options: { accessToken?: string }): Record<string, string> {
  return options.accessToken ? { authorization: `Bearer ${options.accessToken}` } : {};
}

/** The headers of a request with a JSON body. */
export function jsonHeaders(options: { accessToken?: string }): Record<string, string> {
  return { "content-type": "application/json", ...bearer(options) };
}

/**
 * The headers of an `uploadClickConversions` request: the developer token, and the manager
 * account (`login-customer-id`) when the customer is reached through one.
 */
export function legacyHeaders(
  settings: GoogleAdsSettings,
  options: { accessToken?: string },
): Record<string, string> {
  return {
    ...jsonHeaders(options),
    "developer-token": settings.developer_token ?? "",
    ...(settings.login_customer_id ? { "login-customer-id": settings.login_customer_id } : {}),
  };
}
