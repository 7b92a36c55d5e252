import { HttpError } from "./_http_error.ts";

/** How a request body may be read. */
export interface BodyOptions {
  /** Largest body accepted, bytes. */
  limit: number;
  /** Also accept `text/plain` JSON (what `navigator.sendBeacon` sends without a preflight). */
  allowTextPlain?: boolean;
  /** Also accept `application/x-www-form-urlencoded`, read as a flat object. */
  allowForm?: boolean;
}

const fatalDecoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads a JSON (or, where allowed, form) body: 415 for another content type, 413 past
 * the limit (checked on Content-Length and again while streaming), 400 for invalid UTF-8,
 * an empty body or malformed JSON.
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
  const text = await readText(request, options.limit);
  if (isForm) return Object.fromEntries(new URLSearchParams(text));
  if (text.trim() === "") throw new HttpError(400, "The request body is empty; send a JSON object");
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `The request body is not valid JSON: ${(error as Error).message}`);
  }
}

async function readText(request: Request, limit: number): Promise<string> {
  const length = request.headers.get("content-length");
  if (Number(length ?? "0") > limit) throw tooLarge(limit);
  if (!request.body) return "";
  if (length !== null) {
    const bytes = new Uint8Array(await request.arrayBuffer());
    if (bytes.byteLength > limit) throw tooLarge(limit);
    return decodeUtf8(bytes);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  return decodeUtf8(chunks.length === 1 ? chunks[0]! : concat(chunks, size));
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

function tooLarge(limit: number): HttpError {
  return new HttpError(413, `The request body exceeds ${limit} bytes`);
}
