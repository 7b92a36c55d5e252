import { mapEvents } from "../../connectors/map_events.ts";
import type {
  Classification,
  Connector,
  OutboundRequest,
  Outcome,
} from "../../connectors/types.ts";
import type { SluiceEvent } from "../../core/event.ts";
import type { KeyedLimiter } from "../keyed_limiter.ts";
import type { AccessTokens } from "./access_tokens.ts";
import type { Destination } from "./destinations.ts";
import { maskSecrets, secretValues } from "./mask.ts";
import type { EventResult } from "./outcome.ts";
import type { Sender, SendResult } from "./send.ts";

/** What one attempt needs. */
export interface AttemptDeps {
  send: Sender;
  /** Caps requests in flight per destination. */
  slots: KeyedLimiter;
  tokens: AccessTokens;
  now: () => number;
}

/** One event of an attempt and what became of it; no result: not sent, the deadline passed. */
export interface EventAttempt {
  event: SluiceEvent;
  result?: EventResult;
}

/** How one send went: the connector reads an answer; no answer is retried, a refused URL is not. */
export function classifySend(
  connector: Connector,
  request: OutboundRequest,
  result: SendResult,
): Classification {
  if (result.response) return connector.classify(result.response, request);
  if (result.refused) return { outcome: { kind: "failed", reason: result.error ?? "URL refused" } };
  return { outcome: { kind: "retry", reason: result.error ?? "network error" } };
}

/** The outcome of the event at `position` in a classified request. */
export function outcomeAt(classification: Classification, position: number): Outcome {
  return classification.events?.[position] ?? classification.outcome;
}

/**
 * Makes one attempt to send events to a destination: obtains an access token where the
 * connector has an `authorize` step, maps the events (skipping those the platform would
 * refuse), sends each request under the destination's concurrency cap, and reads each
 * answer per event. A cached token the platform refuses is refreshed once and the request
 * sent again. Requests due after `deadline` are not sent.
 */
export async function attemptDelivery(
  deps: AttemptDeps,
  target: { destination: Destination; connector: Connector; settings: unknown },
  events: readonly SluiceEvent[],
  options: { deadline?: number; test?: boolean } = {},
): Promise<EventAttempt[]> {
  const attempts: EventAttempt[] = events.map((event) => ({ event }));
  const { destination, connector, settings } = target;
  const first = connector.authorize
    ? await deps.tokens.get(destination, connector, settings)
    : undefined;
  if (first && "outcome" in first) {
    return attempts.map((a) => ({ ...a, result: { outcome: first.outcome } }));
  }
  let token = first;
  const now = deps.now();
  const mapOptions = { now, test: options.test, accessToken: token?.token };
  const { requests, skipped } = mapEvents(connector, events, settings, mapOptions);
  for (const skip of skipped) {
    attempts[skip.index]!.result = {
      outcome: { kind: "failed", reason: skip.reason },
      skipped: true,
    };
  }
  await Promise.all(requests.map(async (request) => {
    const sent = await deps.slots.run(destination.id, async () => {
      if (options.deadline !== undefined && deps.now() > options.deadline) return undefined;
      let answer = await deps.send(request);
      let classification = classifySend(connector, request, answer);
      if (token && !token.fresh && refusedCredentials(classification)) {
        const renewed = await deps.tokens.get(destination, connector, settings, { fresh: true });
        if ("outcome" in renewed) return { answer, classification: { outcome: renewed.outcome } };
        token = renewed;
        const retried = resend(connector, events, request, settings, {
          ...mapOptions,
          accessToken: renewed.token,
        });
        if (retried) {
          answer = await deps.send(retried);
          classification = classifySend(connector, retried, answer);
        }
      }
      return { answer, classification };
    });
    if (!sent) return;
    const url = maskSecrets(request.url, secretValues(connector, settings, token?.token));
    request.eventIndexes.forEach((index, position) => {
      attempts[index]!.result = {
        outcome: outcomeAt(sent.classification, position),
        answer: sent.answer,
        request: { method: request.method, url, events: request.eventIndexes.length, position },
      };
    });
  }));
  return attempts;
}

function refusedCredentials(classification: Classification): boolean {
  return classification.outcome.kind === "auth_failed" ||
    (classification.events ?? []).some((outcome) => outcome?.kind === "auth_failed");
}

/** The same request built again with a new token (its events mapped again, in the same order). */
function resend(
  connector: Connector,
  events: readonly SluiceEvent[],
  request: OutboundRequest,
  settings: unknown,
  options: { now: number; test?: boolean; accessToken?: string },
): OutboundRequest | undefined {
  const subset = request.eventIndexes.map((index) => events[index]!);
  const again = connector.map(subset, settings, options).requests;
  if (again.length !== 1 || again[0]!.eventIndexes.length !== subset.length) return undefined;
  return { ...again[0]!, eventIndexes: request.eventIndexes };
}
