import assert from "node:assert/strict";
import { openTestSluice } from "./_harness.ts";
import { expectJson } from "./_http.ts";

type Json = Record<string, unknown>;

interface OperationJson {
  requestBody?: { content?: Record<string, { schema?: Json; example?: unknown }> };
  parameters?: { name: string; in: string; required?: boolean; schema?: Json }[];
  responses?: Record<string, unknown>;
  security?: unknown[];
}

interface OpenApiJson {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, OperationJson>>;
  components: { schemas: Record<string, Json>; securitySchemes?: Record<string, Json> };
}

const INGEST_POSTS = [
  "/v1/events",
  "/v1/browser/events",
  "/collect",
  "/collect/hook",
  "/v1/batch",
  "/v1/track",
  "/v1/identify",
  "/v1/page",
  "/v1/screen",
  "/v1/group",
  "/v1/alias",
];

async function fetchDoc(): Promise<OpenApiJson> {
  const s = await openTestSluice();
  try {
    return await expectJson<OpenApiJson>(await s.request("/openapi.json"), 200);
  } finally {
    await s.close();
  }
}

/** Follows `$ref`s and combinators; true when a schema (or one it is built of) has an example. */
function hasExample(doc: OpenApiJson, schema: unknown, seen = new Set<string>()): boolean {
  if (typeof schema !== "object" || schema === null) return false;
  const node = schema as Json;
  if ("example" in node || "examples" in node) return true;
  const ref = node.$ref;
  if (typeof ref === "string") {
    if (seen.has(ref)) return false;
    seen.add(ref);
    const name = ref.replace("#/components/schemas/", "");
    return hasExample(doc, doc.components.schemas[name], seen);
  }
  for (const key of ["anyOf", "allOf", "oneOf"]) {
    const parts = node[key];
    if (Array.isArray(parts) && parts.some((p) => hasExample(doc, p, seen))) return true;
  }
  return false;
}

function resolves(doc: OpenApiJson, schema: Json | undefined): boolean {
  if (!schema) return false;
  const text = JSON.stringify(schema);
  for (const match of text.matchAll(/"#\/components\/schemas\/([^"]+)"/g)) {
    if (!doc.components.schemas[match[1]!]) return false;
  }
  return true;
}

Deno.test("GET /openapi.json is OpenAPI 3.1 and documents every ingest route's body", async () => {
  const doc = await fetchDoc();
  assert.equal(doc.openapi, "3.1.0");
  assert.equal(typeof doc.info.title, "string");
  for (const path of INGEST_POSTS) {
    const post = doc.paths[path]?.post;
    assert.ok(post, `POST ${path} is documented`);
    const json = post.requestBody?.content?.["application/json"];
    assert.ok(json?.schema, `POST ${path} has an application/json request schema`);
    assert.ok(resolves(doc, json.schema), `POST ${path}: every $ref resolves`);
    assert.ok(
      json.example !== undefined || hasExample(doc, json.schema),
      `POST ${path} has an example`,
    );
    assert.ok(post.responses?.["202"], `POST ${path} documents 202`);
    assert.ok(post.responses?.["400"], `POST ${path} documents 400`);
  }
  // The hook also takes forms, and its GET form takes query parameters.
  assert.ok(
    doc.paths["/collect/hook"]?.post?.requestBody?.content?.["application/x-www-form-urlencoded"],
  );
  const hookGet = doc.paths["/collect/hook"]?.get;
  assert.ok(hookGet, "GET /collect/hook is documented");
  const query = (hookGet.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name);
  for (const name of ["event", "value", "currency", "email", "event_id", "order_id"]) {
    assert.ok(query.includes(name), `GET /collect/hook documents ?${name}`);
  }
  assert.ok(hookGet.parameters?.some((p) => p.schema?.example !== undefined));
});

Deno.test("GET /openapi.json documents the management and read routes and problem answers", async () => {
  const doc = await fetchDoc();
  for (
    const [path, method] of [
      ["/v1/workspaces", "post"],
      ["/v1/workspace", "get"],
      ["/v1/workspace", "patch"],
      ["/v1/api-keys", "get"],
      ["/v1/api-keys", "post"],
      ["/v1/api-keys/{id}", "delete"],
      ["/v1/events", "get"],
      ["/v1/events/{event_id}", "get"],
      ["/healthz", "get"],
    ] as const
  ) {
    assert.ok(doc.paths[path]?.[method], `${method.toUpperCase()} ${path} is documented`);
  }
  const problem = doc.components.schemas.Problem as { properties?: Json } | undefined;
  assert.ok(problem?.properties);
  for (const field of ["type", "title", "status", "detail", "errors"]) {
    assert.ok(field in problem.properties, `Problem has ${field}`);
  }
  const eventsPost = doc.paths["/v1/events"]?.post;
  const answer409 = eventsPost?.responses?.["409"] as { content?: Json } | undefined;
  assert.ok(answer409?.content?.["application/problem+json"]);
  assert.ok(doc.components.securitySchemes?.bearer);
  assert.ok(doc.components.securitySchemes?.basic);
});

// Regression (fixed): routes/hook.ts registers GET and POST /collect/hook without the `k` query parameter
// (the ingest key) and without a security scheme; only the prose description mentions
// it, so a client generated from /openapi.json cannot authenticate. Expected `k`
// (required, in: query) among the operation's parameters.
Deno.test({
  name: "GET /openapi.json documents the hook's k credential",
  fn: async () => {
    const doc = await fetchDoc();
    for (const method of ["get", "post"]) {
      const op = doc.paths["/collect/hook"]?.[method];
      const k = op?.parameters?.find((p) => p.name === "k");
      assert.ok(k, `${method.toUpperCase()} /collect/hook documents ?k`);
      assert.equal(k.in, "query");
      assert.equal(k.required, true);
    }
  },
});
