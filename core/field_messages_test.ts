import assert from "node:assert/strict";
import { z } from "zod";
import "./field_messages.ts";

/** The message of each issue the schema raises for `input`, by path. */
function messages(schema: z.ZodType, input: unknown): Record<string, string> {
  const result = schema.safeParse(input);
  assert.equal(result.success, false);
  return Object.fromEntries(result.error!.issues.map((i) => [i.path.join("."), i.message]));
}

Deno.test("fieldMessage() says a missing field is required, a wrong one what it must be", () => {
  const schema = z.object({
    name: z.string(),
    id: z.union([z.string(), z.number()]),
    kind: z.discriminatedUnion("type", [
      z.object({ type: z.literal("meta") }),
      z.object({ type: z.literal("ga4") }),
    ]),
  });
  assert.deepEqual(messages(schema, { kind: {} }), {
    name: "is required (a string)",
    id: "is required (a string or a number)",
    "kind.type": "is required (one of meta, ga4)",
  });
  assert.deepEqual(messages(schema, { name: 5, id: true, kind: { type: "x" } }), {
    name: "must be a string, not a number",
    id: "must be a string or a number",
    "kind.type": "must be one of meta, ga4",
  });
});
