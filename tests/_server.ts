/** The real server (or another script) as a child process, for end-to-end tests and benchmarks. */

const ROOT = new URL("../", import.meta.url);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** What to spawn instead of the defaults. */
export interface SpawnOptions {
  /** The script, relative to the project root (default `main.ts`); it listens on `PORT`. */
  script?: string;
  /** Names the process in error messages (default "the server"). */
  name?: string;
  /** Flags for `deno run` before the script (e.g. `--cpu-prof`). */
  denoFlags?: string[];
}

const OUTPUT_KEEP = 64 * 1024;

/**
 * A spawned `main.ts` on 127.0.0.1 with its output kept (shown when an assertion fails);
 * `await using` stops it (SIGTERM, then SIGKILL) when the test ends.
 */
export class SpawnedServer implements AsyncDisposable {
  readonly base: string;
  readonly name: string;
  readonly #process: Deno.ChildProcess;
  readonly #drained: Promise<void>;
  #output = "";
  #exited = false;

  /** Starts `main.ts` on a free port with `SLUICE_KV` = `kvPath` and the extra `env`. */
  constructor(kvPath: string, env: Record<string, string>, options: SpawnOptions = {}) {
    const port = freePort();
    this.base = `http://127.0.0.1:${port}`;
    this.name = options.name ?? "the server";
    this.#process = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", ...options.denoFlags ?? [], options.script ?? "main.ts"],
      cwd: ROOT,
      env: { PORT: String(port), HOSTNAME: "127.0.0.1", SLUICE_KV: kvPath, ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#process.status.then(() => this.#exited = true);
    this.#drained = Promise.all([
      this.#collect(this.#process.stdout),
      this.#collect(this.#process.stderr),
    ]).then(() => {});
  }

  async #collect(stream: ReadableStream<Uint8Array>): Promise<void> {
    // A TextDecoder rather than TextDecoderStream: with the DOM types Preact brings in, the
    // stream's type no longer fits pipeThrough.
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      this.#output = (this.#output + decoder.decode(chunk, { stream: true })).slice(-OUTPUT_KEEP);
    }
  }

  /** The last 64 KiB the process printed. */
  get output(): string {
    return this.#output;
  }

  /** The process id. */
  get pid(): number {
    return this.#process.pid;
  }

  /** Whether the process has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** Polls /healthz until the server answers 2xx. */
  async ready(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.#exited) throw new Error(`${this.name} exited at start:\n${this.#output}`);
      try {
        const res = await fetch(`${this.base}/healthz`, { signal: AbortSignal.timeout(1_000) });
        await res.body?.cancel();
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    throw new Error(`${this.name} was not ready after ${timeoutMs} ms:\n${this.#output}`);
  }

  /** Sends a signal at once, without waiting (for use inside a mock's handler). */
  signal(signal: Deno.Signal): void {
    try {
      this.#process.kill(signal);
    } catch {
      // already gone
    }
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `graceMs`: `status.signal` tells). */
  async stop(signal: Deno.Signal, graceMs = 10_000): Promise<Deno.CommandStatus> {
    if (!this.#exited) this.signal(signal);
    const timer = setTimeout(() => this.signal("SIGKILL"), graceMs);
    try {
      const status = await this.#process.status;
      await this.#drained;
      return status;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the process if it still runs. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#exited) await this.stop("SIGTERM", 5_000);
  }
}
