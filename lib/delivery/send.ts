/**
 * Sends one connector request to the platform: the SSRF guard again at send time, a time
 * limit, no redirects, a capped body read, and failures as values rather than exceptions.
 *
 * DNS rebinding: {@linkcode checkUrl} resolves the host and `fetch` then resolves it again,
 * so a name with a very short TTL can answer a public address to the check and a private one
 * to the connection. The window is that of one request (milliseconds). It is not closed here:
 * `Deno.createHttpClient({ proxy: { transport: "tcp", hostname: ip, port } })` pins the
 * connection to the checked address, but sends plain HTTP over it even for an `https:` URL
 * (no TLS, checked on Deno 2.9), and pinning by hand would mean our own HTTP/TLS client.
 * Where that window matters, run Sluice behind an egress proxy that enforces the same rules
 * on the address it connects to (e.g. smokescreen, through `HTTPS_PROXY`) or a firewall that
 * drops traffic from Sluice to private ranges and metadata endpoints.
 *
 * @module
 */
import type { OutboundRequest, PlatformResponse } from "../../connectors/types.ts";
import { checkUrl, type Resolver } from "./ssrf.ts";

/** What sending one request gave: the platform's answer, or a network error. */
export interface SendResult {
  response?: PlatformResponse;
  error?: string;
  latencyMs: number;
  /** The first 2 KiB of the answer body. */
  bodySnippet: string;
  /** The URL was refused by the SSRF guard: nothing was sent, and retrying will not help. */
  refused?: boolean;
}

/** Sends one request (with the SSRF guard and a timeout). */
export type Sender = (request: OutboundRequest) => Promise<SendResult>;

/** Default time limit for one request, response body included, ms. */
export const DEFAULT_SEND_TIMEOUT_MS = 10_000;
/** Most bytes of a response body read; the rest is discarded unread. */
export const MAX_RESPONSE_BYTES = 64 * 1024;
/** Characters of the body kept as `bodySnippet` for the delivery log. */
export const BODY_SNIPPET_CHARS = 2048;

/** Options of {@linkcode sendRequest}. */
export interface SendOptions {
  /** `SLUICE_ALLOW_PRIVATE_URLS`: allow plain http and loopback/private hosts. */
  allowPrivate?: boolean;
  /** Time limit for the whole exchange, ms; {@linkcode DEFAULT_SEND_TIMEOUT_MS} by default. */
  timeoutMs?: number;
  /** Aborts the request early, e.g. on shutdown. */
  signal?: AbortSignal;
  /** The HTTP client; the global `fetch` by default. */
  fetch?: typeof fetch;
  /** DNS lookup for the SSRF guard; `Deno.resolveDns` by default. */
  resolve?: Resolver;
  /** Most response-body bytes read; {@linkcode MAX_RESPONSE_BYTES} by default. */
  maxBodyBytes?: number;
}

/** A {@linkcode SendResult}, plus whether the SSRF guard stopped the request before sending. */
export interface SendOutcome extends SendResult {
  /** True when the URL was refused: no connection was made, `error` says why. */
  refused?: true;
}

/**
 * Sends one request and reports what happened, never throwing. The URL is checked by the
 * SSRF guard first (a refusal makes no connection); a 3xx answer is returned as is, never
 * followed; at most `maxBodyBytes` of the answer are read and its first 2 KiB kept as
 * `bodySnippet`. Network errors and timeouts become `error`; an answer whose body could not be
 * read to the end keeps its status and the body read so far, with `error` set as well.
 */
export async function sendRequest(
  request: OutboundRequest,
  options: SendOptions = {},
): Promise<SendOutcome> {
  const check = await checkUrl(request.url, {
    allowPrivate: options.allowPrivate,
    resolve: options.resolve,
  });
  if (check.kind === "refused") {
    return { error: check.reason, latencyMs: 0, bodySnippet: "", refused: true };
  }

  const timeoutMs = options.timeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const target = `${request.method} ${check.url.origin}`;
  const failure = (error: unknown) =>
    timeout.aborted
      ? `${target} timed out after ${timeoutMs} ms`
      : `${target} failed: ${describeError(error)}`;
  const doFetch = options.fetch ?? fetch;
  const started = performance.now();

  let answer: Response;
  try {
    // The href that was checked, not request.url, so both parse the same string the same way.
    answer = await doFetch(check.url.href, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      redirect: "manual",
      signal,
    });
  } catch (error) {
    return { error: failure(error), latencyMs: performance.now() - started, bodySnippet: "" };
  }

  const read = await readCapped(answer, options.maxBodyBytes ?? MAX_RESPONSE_BYTES);
  const response: PlatformResponse = {
    status: answer.status,
    headers: answer.headers,
    body: read.text,
  };
  return {
    response,
    ...(read.error === undefined ? {} : { error: failure(read.error) }),
    latencyMs: performance.now() - started,
    bodySnippet: snippet(read.text),
  };
}

/** Reads at most `maxBytes` of a body as UTF-8, then cancels the rest of the stream. */
async function readCapped(
  answer: Response,
  maxBytes: number,
): Promise<{ text: string; error?: unknown }> {
  if (answer.body === null) return { text: "" };
  const reader = answer.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let received = 0;
  try {
    while (received < maxBytes) {
      const { done, value } = await reader.read();
      if (done) return { text: text + decoder.decode() };
      const room = maxBytes - received;
      const chunk = value.byteLength > room ? value.subarray(0, room) : value;
      received += chunk.byteLength;
      text += decoder.decode(chunk, { stream: true });
    }
    // Capped: a character cut at the limit is dropped rather than flushed as U+FFFD.
    reader.cancel().catch(() => {});
    return { text };
  } catch (error) {
    reader.cancel().catch(() => {});
    return { text, error };
  }
}

function snippet(text: string): string {
  if (text.length <= BODY_SNIPPET_CHARS) return text;
  const cut = text.slice(0, BODY_SNIPPET_CHARS);
  // Do not end on half a surrogate pair.
  const last = cut.charCodeAt(cut.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut;
}

/**
 * The error and its causes, joined; every URL in them cut down to its origin, since Deno's
 * fetch errors quote the full URL and a query or path may hold a credential.
 */
function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 4; depth++) {
    if (current instanceof Error) {
      parts.push(current.message);
      current = current.cause;
    } else {
      parts.push(String(current));
      current = undefined;
    }
  }
  return parts.join(": ").replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s)"']*[^\s)"':,.;]/gi, (found) => {
    try {
      return new URL(found).origin;
    } catch {
      return "<url>";
    }
  });
}
