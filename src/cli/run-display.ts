/** Live progress of a run: events in, status line and permanent lines out (see progress.ts). */
import type { VibewriterEvent } from "../nats/event-types.ts";
import type { CliOutput } from "./context.ts";
import { applyEvent, initialProgress, statusLine, type ProgressState } from "./progress.ts";
import { StatusLine } from "./status-line.ts";

/** Tools whose start already has its own line (plan, subagent hand-off). */
const QUIET_TOOLS = new Set(["write_todos", "task"]);

export class RunDisplay {
  #state: ProgressState = initialProgress();
  readonly #line: StatusLine;
  readonly #quiet: boolean;

  /** `quiet` (for --json) shows nothing: stdout is reserved for the one JSON document. */
  constructor(out: CliOutput, quiet: boolean) {
    this.#line = new StatusLine(out);
    this.#quiet = quiet;
  }

  /** Prints a line about the run itself (thread id, model). */
  note(line: string): void {
    if (!this.#quiet) this.#line.log(line);
  }

  readonly onEvent = (e: VibewriterEvent): void => {
    const { state, lines } = applyEvent(this.#state, e);
    this.#state = state;
    if (this.#quiet) return;
    for (const l of lines) this.#line.log(l);
    // Without a terminal there is no status line: say which tool runs, as a line of the transcript.
    if (!this.#line.isLive && e.type === "tool.started" && !QUIET_TOOLS.has(String((e.data as { tool?: unknown }).tool))) {
      this.#line.log(`  ${e.agent}: ${String((e.data as { tool?: unknown }).tool)}`);
    }
    // On a terminal the status line shows what is happening now; in plain mode the permanent
    // lines already tell the story, and a status line per tool call would flood a log file.
    if (this.#line.isLive && !state.finished) this.#line.set(statusLine(state));
  };

  clear(): void {
    this.#line.clear();
  }
}
