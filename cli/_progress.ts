import type { Output } from "./_args.ts";

/** Redraws at most this often, ms. */
const FRAME_MS = 100;
const WIDTH = 28;

/**
 * A progress bar on standard error (`Output.progress`, set only when it is a terminal):
 * `Exporting [##########----------]  52%  52,310 / 100,000 entries  4.1 s`. Without a
 * total it shows the count and the rate.
 */
export class ProgressBar {
  readonly #draw: ((text: string) => void) | undefined;
  readonly #label: string;
  readonly #started = Date.now();
  #drawn = 0;

  /** A bar labelled `label`; drawn only when `enabled` and standard error is a terminal. */
  constructor(output: Output, label: string, enabled = true) {
    this.#draw = enabled ? output.progress?.bind(output) : undefined;
    this.#label = label;
  }

  /** Whether anything is drawn at all. */
  get active(): boolean {
    return this.#draw !== undefined;
  }

  /** Shows `done` of `total` entries (throttled). */
  update(done: number, total?: number): void {
    const now = Date.now();
    if (!this.#draw || now - this.#drawn < FRAME_MS) return;
    this.#drawn = now;
    this.#draw(this.#text(done, total, now));
  }

  /** Draws the final state and ends the line. */
  finish(done: number, total?: number): void {
    this.#draw?.(this.#text(done, total, Date.now()) + "\n");
  }

  #text(done: number, total: number | undefined, now: number): string {
    const seconds = (now - this.#started) / 1000;
    const count = done.toLocaleString("en");
    if (!total) {
      const rate = seconds > 0 ? Math.round(done / seconds).toLocaleString("en") : "…";
      return `${this.#label}  ${count} entries  ${rate}/s  ${seconds.toFixed(1)} s`;
    }
    const share = Math.min(1, done / total);
    const filled = Math.round(share * WIDTH);
    const bar = "#".repeat(filled) + "-".repeat(WIDTH - filled);
    const percent = `${Math.floor(share * 100)}%`.padStart(4);
    return `${this.#label} [${bar}] ${percent}  ${count} / ${total.toLocaleString("en")} entries  ${
      seconds.toFixed(1)
    } s`;
  }
}
