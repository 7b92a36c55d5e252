/**
 * PII normalisation: one canonical form per field, and per-platform variants where the
 * platforms disagree (CONNECTORS.md §1), plus hashing that never hashes twice.
 *
 * @module
 */
export * from "./date_of_birth.ts";
export * from "./email.ts";
export * from "./gender.ts";
export * from "./hash.ts";
export * from "./location.ts";
export * from "./name.ts";
export * from "./phone.ts";
