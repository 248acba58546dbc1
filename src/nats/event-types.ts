/**
 * The one definition of the events Vibewriter publishes to a thread's event log (the agent, the
 * CLI's progress display, the dashboard and audits all read these), as a union discriminated on
 * `type`; `data` is typed per type.
 *
 * Each event is stored on `vibewriter.events.<thread token>.<type>` (the type's dots make it one
 * or two subject tokens, so consumers can filter, e.g. `….tool.>`). A thread's events come back in
 * publish order from one ordered consumer on `vibewriter.events.<thread token>.>`.
 *
 * Ids are chosen by the publisher and stable: the same cause (agent, tool-call id, phase) always
 * yields the same id, and the id is the JetStream msgID, so the copies a crash-resume replay
 * publishes are dropped by the stream's dedup window.
 *
 * Events are read by people and other processes: they carry summaries, never whole tool outputs,
 * and never secrets. Payment events name the public destination and amount only, and
 * `EventLog.publish` refuses any event whose text looks like a secret (see `secret-shapes.ts`).
 */
export const EventType = {
  RunStarted: "run.started",
  RunFinished: "run.finished",
  RunFailed: "run.failed",
  /** The thread was put on the run queue (`submit`, an owner's decision): a worker will run it. */
  RunQueued: "run.queued",
  TodosUpdated: "todos.updated",
  ModelTurn: "model.turn",
  /** A model call was sent; the run waits for the provider until `model.call`. */
  ModelStarted: "model.started",
  /** A model call came back: model, latency, the provider's token counts. */
  ModelCall: "model.call",
  ToolStarted: "tool.started",
  ToolFinished: "tool.finished",
  FileWritten: "file.written",
  SubagentStarted: "subagent.started",
  SubagentFinished: "subagent.finished",
  SourceStored: "source.stored",
  SkillLoaded: "skill.loaded",
  SkillSkipped: "skill.skipped",
  CitationsChecked: "citations.checked",
  Citation: "citation",
  ReportPublished: "report.published",
  Payment: "payment",
  /** A file under /memories/ changed (memory reaches every later thread's prompt). */
  MemoryChanged: "memory.changed",
  /** On a parent: the `delegate` tool queued a child run on its own thread. */
  ChildSubmitted: "child.submitted",
  /** On a parent: a child run ended; its verified report became a source of the parent (or it failed). */
  ChildFinished: "child.finished",
  /** On a child: the parent run that delegated this run's task. */
  DelegatedFrom: "delegated.from",
  /** The thread's lease was taken from a holder that had stopped renewing it (a dead worker or run). */
  LeaseTakenOver: "lease.taken_over",
  Warning: "warning",
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

/** How a run ended (the agent's `RunResult.status`). */
export const RunStatus = {
  /** The agent finished; `report` is set when a report was published. */
  Completed: "completed",
  /** Paused for a human decision (e.g. a payment that needs approval); `resume()` continues. */
  Interrupted: "interrupted",
  /**
   * The agent stopped short of its plan: steps left open (a report task's report is published).
   * `reason` says which; `resume()` asks it to carry on.
   */
  Incomplete: "incomplete",
  /**
   * The task's outcome does not exist: a report task ended without a published report (a sandbox
   * that failed for good ends there too). `reason` says why; `resume()` asks the agent to carry on.
   */
  Failed: "failed",
} as const;
export type RunStatus = (typeof RunStatus)[keyof typeof RunStatus];

export const ToolStatus = { Ok: "ok", Error: "error" } as const;
export type ToolStatus = (typeof ToolStatus)[keyof typeof ToolStatus];

export interface TodoItem {
  content: string;
  status: string;
}

/** The `data` of each event type. Values made by `summarise()` are `unknown`: clipped JSON. */
export interface EventData {
  /** `runner`: the process that runs it; `takenOver`: its lease was taken from a holder gone silent. */
  "run.started": { task?: string; sources?: string[]; resumed?: boolean; checkpoint?: string; runner?: RunnerInfo; takenOver?: boolean };
  /** `wallMs`: from the runner taking the thread (VM and sources prepared included) to the run's end. */
  "run.finished": { status: RunStatus; report?: string | null; todos?: number; reason?: string; wallMs?: number };
  /** `wallMs` when a run had started (absent when the queue gave the request up). */
  "run.failed": { message: string; wallMs?: number };
  /** `by`: who queued it ("submit", "service", "owner", a parent thread's id for a child run). */
  "run.queued": { kind: "run" | "resume"; task?: string; sources?: number; skills?: string[]; allowNetwork?: boolean; by?: string };
  "todos.updated": { todos: TodoItem[] };
  "model.turn": { toolCalls: { name: string; id?: string }[]; text: unknown };
  "model.started": { model: string };
  "model.call": {
    model: string;
    latencyMs: number;
    inputTokens?: number;
    outputTokens?: number;
    toolCalls: number;
    malformed?: number;
    renamedToolCallIds?: number;
  };
  "tool.started": { tool: string; callId: string; args?: unknown };
  "tool.finished": { tool: string; callId: string; status: ToolStatus; output?: unknown; replayed?: boolean };
  /** `artifact`: Object Store name when the file was saved as one. */
  "file.written": { path: string; tool?: string; bytes?: number; artifact?: string };
  "subagent.started": { subagent: string; description?: unknown; callId: string };
  "subagent.finished": { subagent: string; callId: string; status: ToolStatus; result?: unknown };
  "source.stored": { id: string; origin: string; kind: string; chars: number; title?: string | null };
  "skill.loaded": { name: string; description: string; files: number; path: string };
  "skill.skipped": { path: string; message: string };
  "citations.checked": { path: string; ok: boolean; citations: number; problems: string[]; uncited: number };
  /** One verified citation of a published report: the stored source it names, the quote, the report line. */
  citation: { sourceId: string; quote?: string; line?: number; url?: string; title?: string };
  "report.published": { artifact: string; sha256: string; bytes: number; citations: number; sources: string[] };
  /**
   * A payment's progress. `status` is the wallet's `PaymentStatus`; `amount` a decimal string,
   * `asset` "XLM" or "CODE:ISSUER", `destination` the public account (G…); `txHash` once submitted.
   */
  payment: {
    paymentId: string;
    status: string;
    amount: string;
    asset: string;
    destination: string;
    memo?: string;
    reason?: string;
    txHash?: string;
  };
  "memory.changed": { path: string; op: "write" | "edit" | "delete" | "upload"; bytes?: number; sha256?: string };
  "child.submitted": { child: string; question: string; sources: "parent" | "none"; maxModelCalls: number; maxTokens: number };
  /** `status`: the child's; `source`: the parent's source id of the child's report (when it published one). */
  "child.finished": { child: string; status: string; source?: string; reason?: string };
  "delegated.from": { parent: string; question: string };
  /** `from`: the holder that went silent; `silentMs`: since its last renewal (server time); `by`: the new holder. */
  "lease.taken_over": { from: RunnerInfo; silentMs: number; by: RunnerInfo };
  warning: { message: string; attempt?: number };
}

/** Who runs a thread: a `vibewriter run|resume|demo` process or a worker (its lease holder). */
export interface RunnerInfo {
  kind: "run" | "worker";
  id: string;
  host: string;
  pid: number;
}

/** What a publisher hands to `EventLog.publish`. */
export type EventOf<T extends EventType> = {
  type: T;
  /**
   * Stable id from what caused the event (unique within the thread). Omitted: a random one, so
   * the event cannot be deduplicated on replay — fine for one-off events only.
   */
  id?: string;
  /** `main` or the subagent's name; default `main`. */
  agent?: string;
  /** When it happened, ISO 8601; default: now (the publisher's clock). */
  at?: string;
  data: EventData[T];
};
export type NewEvent = { [T in EventType]: EventOf<T> }[EventType];

/** Publisher-side event (what `onEvent` sees): id, agent, thread and time filled in. */
export type VibewriterEvent = {
  [T in EventType]: Required<Omit<EventOf<T>, "data">> & {
    data: EventData[T];
    threadId: string;
  };
}[EventType];

/** An event as read back from the log: plus its stream sequence (the log's total order). */
export type StoredEvent = VibewriterEvent & { seq: number };

const KNOWN = new Set<string>(Object.values(EventType));
export function isEventType(value: unknown): value is EventType {
  return typeof value === "string" && KNOWN.has(value);
}

/** A type guard for `filter`/`find`: `events.filter(eventOf(EventType.ToolFinished))` keeps `data` typed. */
export function eventOf<T extends EventType>(type: T) {
  return <E extends { type: EventType }>(e: E): e is Extract<E, { type: T }> => e.type === type;
}
