import assert from "node:assert/strict";
import { dashboardRoutes } from "../routes/dashboard/_app.ts";
import { openTestSluice } from "./_harness.ts";
import { expectJson } from "./_http.ts";

type Json = Record<string, unknown>;

interface OperationJson {
  operationId?: string;
  tags?: string[];
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
  await using s = await openTestSluice();
  return await expectJson<OpenApiJson>(await s.request("/openapi.json"), 200);
}

/** Every documented operation as `[METHOD path, operation]`. */
function operations(doc: OpenApiJson): [string, OperationJson][] {
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]): [string, OperationJson] => [
      `${method.toUpperCase()} ${path}`,
      op,
    ])
  );
}

/**
 * Where the schemas reachable from `schema` are free-form maps (an object with neither
 * declared properties nor typed values), named from the component they sit in:
 * `Platform.config`, `Page.data[].x`.
 */
function freeFormMaps(doc: OpenApiJson, schema: unknown, at: string, seen: Set<string>): string[] {
  if (typeof schema !== "object" || schema === null) return [];
  const node = schema as Json;
  if (typeof node.$ref === "string") {
    const name = node.$ref.replace("#/components/schemas/", "");
    if (seen.has(name)) return [];
    seen.add(name);
    return freeFormMaps(doc, doc.components.schemas[name], name, seen);
  }
  const found: string[] = [];
  const values = node.additionalProperties;
  const untypedValues = values === undefined || values === true ||
    (typeof values === "object" && values !== null && Object.keys(values).length === 0);
  if (node.type === "object" && node.properties === undefined && untypedValues) found.push(at);
  for (const [name, child] of Object.entries((node.properties ?? {}) as Json)) {
    found.push(...freeFormMaps(doc, child, `${at}.${name}`, seen));
  }
  found.push(...freeFormMaps(doc, node.items, `${at}[]`, seen));
  for (const key of ["anyOf", "allOf", "oneOf"]) {
    for (const part of (node[key] ?? []) as unknown[]) {
      found.push(...freeFormMaps(doc, part, at, seen));
    }
  }
  return found;
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

Deno.test("GET /openapi.json gives every operation a unique camelCase operationId and a tag", async () => {
  const doc = await fetchDoc();
  const ids = new Set<string>();
  for (const [name, op] of operations(doc)) {
    assert.match(
      op.operationId ?? "",
      /^[a-z][a-zA-Z0-9]*$/,
      `${name} has a camelCase operationId`,
    );
    assert.ok(!ids.has(op.operationId!), `${name}: operationId ${op.operationId} is unique`);
    ids.add(op.operationId!);
    assert.ok((op.tags ?? []).length > 0, `${name} has a tag`);
  }
});

Deno.test("GET /openapi.json documents every route the app serves, mounted sub-apps included", async () => {
  await using s = await openTestSluice();
  const doc = await expectJson<OpenApiJson>(await s.request("/openapi.json"), 200);
  // The dashboard's pages are HTML, not API operations (docs/dashboard.md).
  const pages = new Set(dashboardRoutes(s.rt).routes.map((r) => `${r.method} ${r.path}`));
  const served = s.app.routes
    .filter((r) => r.method !== "ALL" && r.path !== "/openapi.json")
    .filter((r) => !pages.has(`${r.method} ${r.path}`))
    .map((r) => `${r.method} ${r.path.replace(/:([^/]+)/g, "{$1}")}`);
  const documented = new Set(operations(doc).map(([name]) => name));
  for (const route of served) assert.ok(documented.has(route), `${route} is documented`);
  // And the other way round: nothing documented that is not served.
  assert.deepEqual([...documented].sort(), [...new Set(served)].sort());
});

Deno.test("GET /openapi.json gives every authenticated operation its security and 401/403 problems", async () => {
  const doc = await fetchDoc();
  const secured = operations(doc).filter(([, op]) => (op.security ?? []).length > 0);
  assert.ok(secured.length > 40, `${secured.length} secured operations`);
  for (const [name, op] of secured) {
    for (const status of ["401", "403"]) {
      const answer = op.responses?.[status] as { content?: Json } | undefined;
      assert.ok(answer?.content?.["application/problem+json"], `${name} documents ${status}`);
    }
  }
  assert.equal(doc.paths["/healthz"]?.get?.security, undefined);
});

Deno.test("GET /openapi.json types management answers; free-form maps only where the data is free-form", async () => {
  const doc = await fetchDoc();
  const maps = new Set<string>();
  for (const [name, op] of operations(doc)) {
    if (!op.operationId || INGEST_POSTS.some((path) => name === `POST ${path}`)) continue;
    for (const [status, answer] of Object.entries(op.responses ?? {})) {
      const schema = (answer as { content?: Record<string, { schema?: Json }> }).content
        ?.["application/json"]?.schema;
      if (status.startsWith("2")) {
        for (const at of freeFormMaps(doc, schema, name, new Set())) maps.add(at);
      }
    }
  }
  assert.deepEqual([...maps].sort(), [
    "Platform.config",
    "PlatformCreated.generated_secrets",
    "StoredEvent.properties",
    "WebhookEventCatalogue.data[].example",
    "WebhookEventCatalogue.data[].schema",
  ]);
  const schemas = doc.components.schemas;
  for (
    const [name, fields] of [
      ["StoredEvent", ["event_id", "event_name", "event_time", "user_data", "properties"]],
      ["DeliveryRow", ["platform_id", "type", "status", "attempts", "last_status", "last_error"]],
      ["Rule", ["id", "name", "match", "action", "priority"]],
      ["Platform", ["id", "type", "name", "config", "health"]],
      ["ApiKey", ["id", "name", "scopes", "prefix"]],
      ["Webhook", ["id", "url", "events", "status"]],
      ["WebhookDelivery", ["id", "status", "attempts", "attempt_log"]],
    ] as const
  ) {
    const properties = (schemas[name] as { properties?: Json } | undefined)?.properties ?? {};
    for (const field of fields) assert.ok(field in properties, `${name}.${field} is documented`);
  }
  const deliveryRow = schemas.DeliveryRow as { properties: Json };
  for (const field of ["response", "latency_ms", "next_attempt_at", "updated_at", "event_name"]) {
    assert.ok(field in deliveryRow.properties, `DeliveryRow.${field}`);
  }
});
