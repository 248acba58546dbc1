/**
 * Progress output. On a terminal: one status line redrawn in place, with finished steps printed
 * as permanent lines above it. Elsewhere (pipes, CI, tests): plain lines only, and only when the
 * status changes, so a log file reads as a transcript.
 */
import type { CliOutput } from "./context.ts";

const CLEAR_LINE = "\r\x1b[2K";

export class StatusLine {
  #current = "";
  #drawn = false;

  constructor(private readonly out: CliOutput) {}

  get isLive(): boolean {
    return this.out.isTTY === true;
  }

  /** Replaces the status (redrawn on a TTY; printed as a line elsewhere when it changed). */
  set(status: string): void {
    const line = oneLine(status);
    if (line === this.#current) return;
    this.#current = line;
    if (this.isLive) {
      this.out.write(CLEAR_LINE + truncate(line, this.#width()));
      this.#drawn = true;
    } else {
      this.out.write(line + "\n");
    }
  }

  /** Prints a permanent line (above the status line on a TTY). */
  log(line: string): void {
    if (this.isLive && this.#drawn) {
      this.out.write(CLEAR_LINE + line + "\n" + truncate(this.#current, this.#width()));
    } else {
      this.out.write(line + "\n");
    }
  }

  /** Usable width; a terminal that reports no size (0) gets the classic 80 columns. */
  #width(): number {
    return (this.out.columns || 80) - 1;
  }

  /** Removes the status line (before printing the result). */
  clear(): void {
    if (this.isLive && this.#drawn) this.out.write(CLEAR_LINE);
    this.#drawn = false;
    this.#current = "";
  }
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, " ").trim();
}

function truncate(s: string, width: number): string {
  return s.length <= width ? s : s.slice(0, Math.max(0, width - 1)) + "…";
}
