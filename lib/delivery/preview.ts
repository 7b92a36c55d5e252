/**
 * The request an event makes alone for one destination: the connector maps just this
 * event (pure, no network) with the destination's current settings, secrets masked. A row's
 * history keeps the method and URL of what was sent, not the batch body (a request carries
 * many events); this is the event's own part of it, for reading and for "copy as cURL".
 *
 * @module
 */
import type { Connector } from "../../connectors/types.ts";
import type { SluiceEvent } from "../../core/event.ts";
import type { Destination, DestinationStore } from "./destinations.ts";
import { maskRequest, secretValues } from "./mask.ts";
import { SECRET_MASK } from "./destinations.ts";

/** One request as shown: secrets masked. */
export interface RequestPreview {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

/** The event's own request for a destination, or why there is none. */
export type PreviewResult = { request: RequestPreview } | { unavailable: string };

/**
 * Maps `event` (named `eventName`, after routing renames) for one destination and masks
 * the secrets; connectors that obtain an access token get the mask in its place.
 */
export function previewRequest(
  destinations: DestinationStore,
  connectorFor: (type: string) => Connector | undefined,
  destination: Destination,
  event: SluiceEvent,
  eventName: string,
): PreviewResult {
  const connector = connectorFor(destination.type);
  if (!connector) return { unavailable: `no connector for "${destination.type}"` };
  const settings = connector.settings.safeParse(destinations.settingsOf(destination));
  if (!settings.success) return { unavailable: "the destination's settings are invalid" };
  let mapped;
  try {
    mapped = connector.map([{ ...event, event_name: eventName }], settings.data, {
      now: Date.now(),
      accessToken: SECRET_MASK,
    });
  } catch (error) {
    return { unavailable: `the connector could not map it: ${(error as Error).message}` };
  }
  const request = mapped.requests[0];
  if (!request) {
    return { unavailable: mapped.skipped[0]?.reason ?? "the connector sends nothing for it" };
  }
  const masked = maskRequest(request, secretValues(connector, settings.data));
  return {
    request: {
      method: masked.method,
      url: masked.url,
      headers: masked.headers,
      ...(masked.body === undefined ? {} : { body: masked.body }),
    },
  };
}

/** The request as a cURL command line (single-quoted for a POSIX shell). */
export function curlOf(request: RequestPreview): string {
  const quote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;
  const parts = [`curl -X ${request.method} ${quote(request.url)}`];
  for (const [name, value] of Object.entries(request.headers)) {
    parts.push(`  -H ${quote(`${name}: ${value}`)}`);
  }
  if (request.body !== undefined) parts.push(`  --data-raw ${quote(request.body)}`);
  return parts.join(" \\\n");
}
