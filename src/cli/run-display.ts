/** Live progress of a run: events in, status line and permanent lines out (see progress.ts). */
import type { VibewriterEvent } from "../nats/index.ts";
import type { CliOutput } from "./context.ts";
import { applyEvent, describeAnswer, formatWait, initialProgress, statusLine, type ProgressState } from "./progress.ts";
import { StatusLine } from "./status-line.ts";

/** Tools whose start already has its own line (plan, subagent hand-off). */
const QUIET_TOOLS = new Set(["write_todos", "task"]);

/** The display's time: what it reads and how it is woken while the model is thinking. Injected in tests. */
export interface DisplayClock {
  now(): number;
  /** Calls `tick` every `ms` until the returned function is called. */
  every(ms: number, tick: () => void): () => void;
}

export const systemClock: DisplayClock = {
  now: () => Date.now(),
  every(ms, tick) {
    const timer = setInterval(tick, ms);
    timer.unref(); // never what keeps the process alive
    return () => clearInterval(timer);
  },
};

export interface RunDisplayOptions {
  clock?: DisplayClock;
  /** Without a terminal, a model call at least this slow gets its own line (default 5 s). */
  slowCallMs?: number;
}

/** Without a terminal, how long into a wait for the model a "still waiting" line is printed: then every minute. */
const WAIT_NOTICES_MS = [10_000, 30_000, 60_000];
const WAIT_NOTICE_EVERY_MS = 60_000;

export class RunDisplay {
  #state: ProgressState = initialProgress();
  readonly #line: StatusLine;
  readonly #quiet: boolean;
  readonly #clock: DisplayClock;
  readonly #slowCallMs: number;
  #stopTicking: (() => void) | undefined;
  /** Plain mode: per agent whose wait got a "still waiting" line, when the next is due (ms into the wait). */
  readonly #nextNotice = new Map<string, number>();

  /** `quiet` (for --json) shows nothing: stdout is reserved for the one JSON document. */
  constructor(out: CliOutput, quiet: boolean, options: RunDisplayOptions = {}) {
    this.#line = new StatusLine(out);
    this.#quiet = quiet;
    this.#clock = options.clock ?? systemClock;
    this.#slowCallMs = options.slowCallMs ?? 5_000;
  }

  /** Prints a line about the run itself (thread id, model). */
  note(line: string): void {
    if (!this.#quiet) this.#line.log(line);
  }

  readonly onEvent = (e: VibewriterEvent): void => {
    const { state, lines } = applyEvent(this.#state, e, this.#clock.now());
    this.#state = state;
    if (this.#quiet) return;
    const plain = !this.#line.isLive;
    // Without a terminal, a slow answer is worth a line (it explains a pause in the transcript);
    // quick ones are summed in the subagent's "done" line and the run's last line.
    if (plain && e.type === "model.call") {
      const noticed = this.#nextNotice.has(e.agent); // it had a "still waiting" line: say how it ended
      const latency = (e.data as { latencyMs?: unknown }).latencyMs;
      if (noticed || (typeof latency === "number" && latency >= this.#slowCallMs)) this.#line.log(`  ${describeAnswer(e)}`);
    }
    if (e.type === "model.started" || e.type === "model.call") this.#nextNotice.delete(e.agent);
    for (const l of lines) this.#line.log(l);
    // Without a terminal there is no status line: say which tool runs, as a line of the transcript.
    if (plain && e.type === "tool.started" && !QUIET_TOOLS.has(String((e.data as { tool?: unknown }).tool))) {
      this.#line.log(`  ${e.agent}: ${String((e.data as { tool?: unknown }).tool)}`);
    }
    // On a terminal the status line shows what is happening now; in plain mode the permanent
    // lines already tell the story, and a status line per tool call would flood a log file.
    if (this.#line.isLive && !state.finished) this.#line.set(statusLine(state, this.#clock.now()));
    this.#tickWhileWaiting();
  };

  /** While an agent waits for the model: redraw its wait each second (terminal) or note a long wait (plain). */
  #tickWhileWaiting(): void {
    const waiting = !this.#state.finished && Object.keys(this.#state.waiting).length > 0;
    if (waiting && !this.#stopTicking) this.#stopTicking = this.#clock.every(1_000, () => this.#tick());
    else if (!waiting) this.#stopTick();
  }

  #tick(): void {
    const now = this.#clock.now();
    if (this.#line.isLive) {
      this.#line.set(statusLine(this.#state, now));
      return;
    }
    for (const [agent, { since }] of Object.entries(this.#state.waiting)) {
      const waited = now - since;
      const due = this.#nextNotice.get(agent) ?? WAIT_NOTICES_MS[0]!;
      if (waited < due) continue;
      this.#line.log(`  ${agent}: still waiting for the model (${formatWait(waited)})`);
      this.#nextNotice.set(agent, WAIT_NOTICES_MS.find((t) => t > waited) ?? waited - (waited % WAIT_NOTICE_EVERY_MS) + WAIT_NOTICE_EVERY_MS);
    }
  }

  #stopTick(): void {
    this.#stopTicking?.();
    this.#stopTicking = undefined;
  }

  clear(): void {
    this.#stopTick();
    this.#line.clear();
  }
}
