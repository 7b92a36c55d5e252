import { errorText, log } from "../lib/log.ts";
import type { Transform } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import { clipped } from "../core/event.ts";
import { HttpError } from "./_http_error.ts";

/** How a request body may be read. */
export interface BodyOptions {
  /** Largest body accepted, bytes; for a compressed body, both as sent and once decoded. */
  limit: number;
  /** Also accept `text/plain` JSON (what `navigator.sendBeacon` sends without a preflight). */
  allowTextPlain?: boolean;
  /** Also accept `application/x-www-form-urlencoded`, read as a flat object. */
  allowForm?: boolean;
}

/** The content codings a body may be sent in (RFC 9110 §8.4.1), besides `identity`. */
export const CONTENT_CODINGS = ["gzip", "deflate", "br"] as const;

/** One content coding Sluice decodes. */
export type ContentCoding = typeof CONTENT_CODINGS[number];

// node:zlib rather than DecompressionStream: it hands out 16 KiB chunks and waits for each to
// be read, where DecompressionStream inflates a whole input chunk at once (300 bytes of
// brotli become 200 MB in one allocation). `deflate` is the zlib format (RFC 9110 §8.4.1.2).
const DECODERS: Record<ContentCoding, () => Transform> = {
  gzip: createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

const fatalDecoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads a JSON (or, where allowed, form) body, decoding a `Content-Encoding` of gzip,
 * deflate or br as it streams in: 415 for another content type or coding, 413 past the
 * limit (on Content-Length, while streaming and, for a compressed body, on the decoded
 * bytes, so a compression bomb is cut off at the limit), 400 for corrupt compressed data,
 * a body the client cut off, invalid UTF-8, an empty body or malformed JSON.
 */
export async function readBody(request: Request, options: BodyOptions): Promise<unknown> {
  const type = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  const isJson = type === "application/json" || type.endsWith("+json") ||
    (options.allowTextPlain && type === "text/plain");
  const isForm = options.allowForm && type === "application/x-www-form-urlencoded";
  if (!isJson && !isForm) {
    throw new HttpError(
      415,
      `Content-Type "${type || "(none)"}" is not accepted; send application/json${
        options.allowForm ? " or application/x-www-form-urlencoded" : ""
      }`,
    );
  }
  const coding = contentCoding(request.headers.get("content-encoding"));
  const text = decodeUtf8(await readBytes(request, options.limit, coding));
  if (isForm) return Object.fromEntries(new URLSearchParams(text));
  if (text.trim() === "") throw new HttpError(400, "The request body is empty; send a JSON object");
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `The request body is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * Reads a body's bytes exactly as the sender signed them (after decoding a
 * `Content-Encoding`), with the limits and statuses of {@linkcode readBody} but no
 * content-type check or parsing: for webhooks whose signature covers the raw body.
 */
export async function readRawBody(request: Request, limit: number): Promise<Uint8Array> {
  return await readBytes(request, limit, contentCoding(request.headers.get("content-encoding")));
}

/** The coding a `Content-Encoding` header names; undefined for none or `identity`; else 415. */
export function contentCoding(header: string | null): ContentCoding | undefined {
  if (header === null) return undefined;
  const codings = header.split(",").map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "" && c !== "identity");
  if (codings.length === 0) return undefined;
  if (codings.length === 1) {
    // RFC 9110 §8.4.1.3: x-gzip is gzip.
    const coding = codings[0] === "x-gzip" ? "gzip" : codings[0];
    const known = CONTENT_CODINGS.find((c) => c === coding);
    if (known) return known;
  }
  throw new HttpError(
    415,
    `Content-Encoding "${clipped(header, 64)}" is not supported; send one of ${
      CONTENT_CODINGS.join(", ")
    } or identity`,
    // RFC 9110 §15.5.16: a 415 for a content coding names the codings accepted.
    { headers: { "accept-encoding": CONTENT_CODINGS.join(", ") } },
  );
}

async function readBytes(
  request: Request,
  limit: number,
  coding: ContentCoding | undefined,
): Promise<Uint8Array> {
  const length = request.headers.get("content-length");
  if (Number(length ?? "0") > limit) throw tooLarge(limit);
  if (!request.body) return new Uint8Array();
  if (coding) {
    return await collect(decoded(request, coding, limit), limit, ` once decoded from ${coding}`);
  }
  if (length === null) return await collect(bodyChunks(request), limit);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await request.arrayBuffer());
  } catch (error) {
    throw cutOff(request, error);
  }
  if (bytes.byteLength > limit) throw tooLarge(limit);
  return bytes;
}

/** Concatenates chunks; past `limit` bytes it stops reading (the source is cancelled) with a 413. */
async function collect(
  chunks: AsyncIterable<Uint8Array>,
  limit: number,
  what = "",
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    size += chunk.byteLength;
    if (size > limit) throw tooLarge(limit, what);
    parts.push(chunk);
  }
  return parts.length === 1 ? parts[0]! : concat(parts, size);
}

/** The request's body chunks; a client that goes away mid-body is a 400, not a server error. */
async function* bodyChunks(request: Request): AsyncGenerator<Uint8Array> {
  const reader = request.body!.getReader();
  try {
    for (let chunk; (chunk = await readChunk(request, reader));) yield chunk;
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** The next chunk of the body, or undefined at its end. */
async function readChunk(
  request: Request,
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<Uint8Array | undefined> {
  try {
    const next = await reader.read();
    return next.done ? undefined : next.value;
  } catch (error) {
    throw cutOff(request, error);
  }
}

/**
 * The body decoded as it arrives. The compressed bytes are capped at `limit` too (empty
 * gzip members would otherwise decode to nothing forever); the decoded ones by the reader.
 */
async function* decoded(
  request: Request,
  coding: ContentCoding,
  limit: number,
): AsyncGenerator<Uint8Array> {
  const decoder = DECODERS[coding]();
  // Errors surface through the iteration below; this keeps one raised after it from
  // becoming an uncaught 'error' event.
  decoder.on("error", () => {});
  const reader = request.body!.getReader();
  const feeding = feed(request, reader, decoder, limit).catch((error) => decoder.destroy(error));
  try {
    for await (const chunk of decoder) yield chunk as Uint8Array;
  } catch (error) {
    if (error instanceof HttpError) throw error;
    throw new HttpError(
      400,
      `The request body is not valid ${coding} data: ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
  } finally {
    decoder.destroy();
    // Ends a read still waiting for the client, so the feed below can finish.
    await reader.cancel().catch(() => {});
    await feeding;
  }
}

/**
 * Writes the compressed chunks into the decoder one at a time: the next is read only once
 * the decoder has taken the last, which it does only as its output is read, so a body is
 * read no further than the decoded limit needs.
 */
async function feed(
  request: Request,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  decoder: Transform,
  limit: number,
): Promise<void> {
  let size = 0;
  for (let chunk; (chunk = await readChunk(request, reader));) {
    if (decoder.destroyed) return;
    size += chunk.byteLength;
    if (size > limit) throw tooLarge(limit);
    await written(decoder, chunk);
  }
  if (!decoder.destroyed) decoder.end();
}

/** Resolves once the decoder has processed `chunk` (or is destroyed); errors surface elsewhere. */
function written(decoder: Transform, chunk: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      decoder.off("close", done);
      resolve();
    };
    decoder.on("close", done);
    decoder.write(chunk, done);
  });
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return fatalDecoder.decode(bytes);
  } catch {
    throw new HttpError(400, "The request body is not valid UTF-8");
  }
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

function tooLarge(limit: number, what = ""): HttpError {
  return new HttpError(413, `The request body exceeds ${limit} bytes${what}`);
}

/**
 * A body the client stopped sending (it closed the connection, or the upload was aborted)
 * is the client's problem: one debug line, no stack, and a 400 if an answer still reaches it.
 */
function cutOff(request: Request, error: unknown): HttpError {
  log.debug("Request body cut off", {
    method: request.method,
    path: new URL(request.url).pathname,
    error: errorText(error),
  });
  return new HttpError(400, "The request body ended before it was complete");
}
