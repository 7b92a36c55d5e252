import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { constantTimeEqual } from "../../lib/crypto.ts";
import { parseDuration } from "../../lib/duration.ts";
import type { Runtime } from "../../lib/runtime.ts";
import { bearerToken } from "../_auth.ts";
import type { AppEnv } from "../_env.ts";
import { HttpError } from "../_http_error.ts";
import { jsonResponse, problems } from "../_schemas.ts";

/** Longest a drain call may keep claiming messages: under common proxy and scheduler timeouts. */
const MAX_BUDGET_MS = 25_000;

const drainQuerySchema = z.object({
  max: z.coerce.number().int().min(1).max(1000).default(100).openapi({
    description: "Most messages to handle (1–1000, default 100)",
  }),
  budget: z.string().default("10s").transform((text, ctx) => {
    let ms: number;
    try {
      ms = parseDuration(text);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
    if (ms < 1 || ms > MAX_BUDGET_MS) {
      ctx.addIssue({ code: "custom", message: `"${text}" is outside 1ms to 25s` });
      return z.NEVER;
    }
    return ms;
  }).openapi({
    description:
      "How long to keep claiming messages (at most `25s`, default 10s); those claimed finish",
    example: "10s",
  }),
});

const drainedSchema = z.object({
  handled: z.number().int().openapi({ description: "Messages handled" }),
  failed: z.number().int().openapi({
    description: "Messages whose handling failed: queued again on the backoff schedule",
  }),
  more: z.boolean().openapi({ description: "Whether due messages remain: call again soon" }),
}).openapi("OutboxDrained");

/** Requires the root token or `SLUICE_DRAIN_TOKEN`. */
function requireDrainToken(rt: Runtime): MiddlewareHandler<AppEnv> {
  return async function requireDrain(c, next) {
    const accepted = [rt.config.drainToken, rt.config.rootToken].filter((t) => t !== undefined);
    if (accepted.length === 0) {
      throw new HttpError(
        403,
        "Neither SLUICE_DRAIN_TOKEN nor SLUICE_ROOT_TOKEN is set on this instance; set SLUICE_DRAIN_TOKEN to call the drain endpoint",
      );
    }
    const given = bearerToken(c.req.header("authorization"));
    if (!given) {
      throw new HttpError(401, "Send the drain token: Authorization: Bearer $SLUICE_DRAIN_TOKEN");
    }
    // Every token is compared, so the time taken does not tell which one nearly matched.
    const matches = accepted.map((token) => constantTimeEqual(given, token));
    if (!matches.includes(true)) throw new HttpError(401, "The drain token is invalid");
    await next();
  };
}

/** `POST /v1/outbox/drain`: an outside scheduler drains the kv-outbox where nothing polls it. */
export function outboxRoutes(rt: Runtime): OpenAPIHono<AppEnv> {
  const route = createRoute({
    method: "post",
    path: "/v1/outbox/drain",
    operationId: "drainOutbox",
    tags: ["Operations"],
    summary: "Handle due queue messages now (kv-outbox), for an outside scheduler",
    description:
      "For hosts without long-lived processes, KV queues or Deno.cron (the new Deno Deploy): a scheduler calls this every minute or so with the root token or `SLUICE_DRAIN_TOKEN`. The call handles up to `max` due messages, claims none after `budget`, and answers once those claimed are settled. Safe to call from several places at once: each message is claimed by one lease. With `SLUICE_QUEUE=kv-queue` the queue drains itself: 422.",
    request: { query: drainQuerySchema },
    security: [{ bearer: [] }],
    middleware: [requireDrainToken(rt)],
    responses: {
      200: jsonResponse("What the drain did", drainedSchema),
      ...problems(400, 401, 403, 422),
    },
  });
  return new OpenAPIHono<AppEnv>().openapi(route, async (c) => {
    const { max, budget } = c.req.valid("query");
    const result = await rt.drainOutbox({ maxMessages: max, budgetMs: budget });
    if (!result) {
      throw new HttpError(
        422,
        "This instance uses kv-queue, whose listener drains the queue itself; the drain endpoint serves SLUICE_QUEUE=kv-outbox",
      );
    }
    return c.json(result, 200);
  });
}
