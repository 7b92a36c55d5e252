import type { Connector } from "../../connectors/types.ts";
import type { FieldError } from "../../core/field_error.ts";

/** Whether a user-supplied URL may be saved (the SSRF guard at registration). */
export type UrlGuard = (url: string) => Promise<{ ok: true } | { ok: false; reason: string }>;

/**
 * Settings as the connector parsed them, or every problem with them (paths under `config.`):
 * `invalid` for the schema, `refused` for URLs the SSRF guard refuses.
 */
export type SettingsCheck =
  | { ok: true; settings: Record<string, unknown> }
  | { ok: false; problem: "invalid" | "refused"; errors: FieldError[] };

/**
 * Validates a destination's settings with its connector's schema (unknown keys refused),
 * then every URL setting the connector declares with the SSRF guard.
 */
export async function checkSettings(
  connector: Connector,
  input: Record<string, unknown>,
  urlGuard: UrlGuard,
): Promise<SettingsCheck> {
  const parsed = connector.settings.safeParse(input);
  if (!parsed.success) {
    return {
      ok: false,
      problem: "invalid",
      errors: parsed.error.issues.map((issue) => ({
        path: ["config", ...issue.path, ...unknownKeys(issue)].join("."),
        message: issue.message,
      })),
    };
  }
  const settings = parsed.data as Record<string, unknown>;
  const errors: FieldError[] = [];
  for (const field of connector.urlFields) {
    const value = settings[field];
    if (typeof value !== "string") continue;
    const check = await urlGuard(value);
    if (!check.ok) errors.push({ path: `config.${field}`, message: check.reason });
  }
  return errors.length ? { ok: false, problem: "refused", errors } : { ok: true, settings };
}

/** The key an "unrecognized keys" issue names, so the path points at the typo itself. */
function unknownKeys(issue: { code: string; keys?: readonly string[] }): string[] {
  return issue.code === "unrecognized_keys" && issue.keys?.length === 1 ? [issue.keys[0]!] : [];
}
