/**
 * Backup files on disk: written to a temporary name and renamed once complete (a failed
 * export never leaves a file that looks whole), gzip when the name ends in `.gz`, read back
 * line by line (gzip recognised by its magic bytes).
 *
 * @module
 */

/** Whether a backup file is gzip-compressed, by its name. */
function isGzipName(path: string): boolean {
  return path.toLowerCase().endsWith(".gz");
}

/**
 * Writes a backup through `produce`, which calls `write` with text chunks. A file is
 * created beside `path` with mode 0600 and renamed to it once `produce` resolves; on failure
 * it is removed. `-` writes to standard output.
 */
export async function writeBackupFile<T>(
  path: string,
  produce: (write: (chunk: string) => Promise<void>) => Promise<T>,
): Promise<T> {
  const temporary = path === "-" ? undefined : `${path}.partial`;
  const file = temporary
    ? await Deno.open(temporary, { write: true, create: true, truncate: true, mode: 0o600 })
    : undefined;
  const sink = file ? file.writable : Deno.stdout.writable;
  const encoder = new TextEncoderStream();
  const piped =
    (isGzipName(path)
      ? encoder.readable.pipeThrough(new CompressionStream("gzip"))
      : encoder.readable).pipeTo(sink, { preventClose: !file });
  const writer = encoder.writable.getWriter();
  try {
    const result = await produce((chunk) => writer.write(chunk));
    await writer.close();
    await piped;
    if (temporary) await Deno.rename(temporary, path);
    return result;
  } catch (error) {
    await writer.abort(error).catch(() => {});
    await piped.catch(() => {});
    if (temporary) await Deno.remove(temporary).catch(() => {});
    throw error;
  }
}

/** The lines of a backup file (gzip or not), without their newlines. */
export async function* readBackupLines(path: string): AsyncGenerator<string> {
  const file = await Deno.open(path, { read: true });
  const magic = new Uint8Array(2);
  const read = await file.read(magic);
  await file.seek(0, Deno.SeekMode.Start);
  const gzip = read === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  const text = (gzip ? file.readable.pipeThrough(new DecompressionStream("gzip")) : file.readable)
    .pipeThrough(new TextDecoderStream());
  let rest = "";
  for await (const chunk of text) {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop()!;
    yield* lines;
  }
  if (rest.length) yield rest;
}
