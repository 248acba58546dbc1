import type { CheckpointTuple } from "@langchain/langgraph-checkpoint";
import { AgentError, AgentErrorCode } from "./errors.ts";
import { pendingInterrupts } from "./pending-interrupts.ts";
import { addModelCall, noModelCalls, type ModelUsageTotals } from "./model-usage.ts";
import { EventType, type VibewriterEvent } from "../nats/index.ts";
import type { AgentBackbone } from "./ports.ts";
import { REPORT_ARTIFACT } from "./tools/publish.ts";
import { validateThreadId, type Todo } from "./vibewriter.ts";

export const ThreadStatus = {
  /** On the run queue (`submit`, an owner's decision on a queued thread): no worker has started it yet. */
  Queued: "queued",
  Running: "running",
  Completed: "completed",
  Interrupted: "interrupted",
  /** The last run stopped short: its plan has steps left open (`reason` says which). */
  Incomplete: "incomplete",
  /** The last run stopped with an error, or without the report it was asked for (`reason` says which). */
  Failed: "failed",
} as const;
export type ThreadStatus = (typeof ThreadStatus)[keyof typeof ThreadStatus];

export type { ModelUsageTotals };

/** One run: from a `run.started` to the next (a `resume` starts a new run). */
export interface RunUsage extends ModelUsageTotals {
  /** 1-based; 0 holds model calls logged before any `run.started` (older logs). */
  run: number;
  startedAt?: string;
  resumed: boolean;
  /** How the run ended; absent while it runs (or when it was killed). */
  ended?: Exclude<ThreadStatus, "running">;
}

export interface AgentUsage extends ModelUsageTotals {
  /** `main` or a subagent's name. */
  agent: string;
}

export interface ThreadUsage {
  total: ModelUsageTotals;
  runs: RunUsage[];
  /** `main` first, then subagents in order of their first model call. */
  agents: AgentUsage[];
}

/** What an interrupted thread waits for (from the pending interrupts in its latest checkpoint). */
export type ThreadWait =
  | { kind: "payment_approval"; proposalId: string; amount: string; asset: string; destination: string; reason?: string; approve: string; reject: string }
  | { kind: "budget_exhausted"; reason: string; resume: string }
  /** A child run (the `delegate` tool): a worker resumes the parent when the child ends. */
  | { kind: "child_run"; child: string; question: string }
  | { kind: "other"; value: string };

export interface ThreadSummary {
  threadId: string;
  task?: string;
  status: ThreadStatus;
  /** Why the thread is not completed: what is missing, the failure, or what it waits for. */
  reason?: string;
  hasReport: boolean;
  events: number;
  usage: ModelUsageTotals;
  startedAt?: string;
  updatedAt?: string;
  /** The run that delegated this one (`delegated.from`). */
  parent?: string;
  /** Child runs this thread delegated to (`child.submitted`), in order. */
  children?: string[];
}

/** A child run as its parent's log tells it: `ended` once `child.finished` came (with the report's source id). */
export interface ChildLink {
  threadId: string;
  question: string;
  ended?: { status: string; source?: string; reason?: string };
}

export interface ThreadDetails {
  threadId: string;
  status: ThreadStatus;
  /** As in `ThreadSummary`. */
  reason?: string;
  /** For an interrupted thread: each decision it waits for. */
  waitingFor?: ThreadWait[];
  task?: string;
  todos: Todo[];
  /** Files written during the run (paths in the sandbox), in order of first write. */
  files: string[];
  report?: string;
  events: number;
  usage: ThreadUsage;
  parent?: string;
  children?: ChildLink[];
}

/** Parent and children from the thread's own events. */
function linksOf(events: readonly VibewriterEvent[]): { parent?: string; children: ChildLink[] } {
  let parent: string | undefined;
  const children = new Map<string, ChildLink>();
  for (const e of events) {
    if (e.type === EventType.DelegatedFrom) parent ??= e.data.parent;
    else if (e.type === EventType.ChildSubmitted) children.set(e.data.child, { threadId: e.data.child, question: e.data.question });
    else if (e.type === EventType.ChildFinished) {
      const c = children.get(e.data.child) ?? { threadId: e.data.child, question: "" };
      const { child: _child, ...ended } = e.data;
      children.set(e.data.child, { ...c, ended });
    }
  }
  return { ...(parent ? { parent } : {}), children: [...children.values()] };
}

const FAILURE_CHARS = 160;

function clip(s: string, n: number): string {
  return s.length <= n ? s : s.slice(0, n - 1) + "…";
}

/** The first non-empty line of a failure message, clipped: the rest (causes, stacks) is in the event log. */
export function firstLine(message: string, max = FAILURE_CHARS): string {
  const line = message.split("\n").map((l) => l.trim()).find((l) => l !== "") ?? "";
  return clip(line || "unknown error", max);
}

export interface RunState {
  status: ThreadStatus;
  reason?: string;
}

/**
 * A thread's status as its event log tells it: the last run.* event wins. "Running" may mean
 * "killed": resume it. An interrupted thread's reason comes from its checkpoint (see `waitsOf`).
 */
export function runStateOf(events: readonly VibewriterEvent[]): RunState {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (e.type === EventType.RunFailed) return { status: ThreadStatus.Failed, reason: firstLine(String(e.data?.message ?? "")) };
    if (e.type === EventType.RunFinished) {
      if (e.data?.status === "interrupted") return { status: ThreadStatus.Interrupted };
      if (e.data?.status === "incomplete") return { status: ThreadStatus.Incomplete, reason: e.data.reason || "the task's outcome is missing" };
      if (e.data?.status === "failed") return { status: ThreadStatus.Failed, reason: e.data.reason || "the task's outcome is missing" };
      return { status: ThreadStatus.Completed };
    }
    if (e.type === EventType.RunStarted) return { status: ThreadStatus.Running };
    if (e.type === EventType.RunQueued) return { status: ThreadStatus.Queued };
  }
  return { status: ThreadStatus.Running };
}

function taskOf(events: readonly VibewriterEvent[]): string | undefined {
  for (const e of events) if (e.type === EventType.RunStarted && typeof e.data.task === "string") return e.data.task;
  // Queued, not started yet: the task as submitted.
  for (const e of events) if (e.type === EventType.RunQueued && typeof e.data.task === "string") return e.data.task;
  return undefined;
}

const zero = noModelCalls;

/**
 * The thread's model calls summed per run (from one `run.started` to the next) and per agent,
 * from its `model.call` events (the tokens as the provider reported them).
 */
export function threadUsage(events: readonly VibewriterEvent[]): ThreadUsage {
  const total = zero();
  const runs: RunUsage[] = [];
  const agents = new Map<string, AgentUsage>([["main", { agent: "main", ...zero() }]]);
  for (const e of events) {
    if (e.type === EventType.RunStarted) {
      runs.push({ run: runs.length + (runs[0]?.run === 0 ? 0 : 1), startedAt: e.at, resumed: e.data?.resumed === true, ...zero() });
      continue;
    }
    const current = runs.at(-1);
    if (e.type === EventType.RunFinished || e.type === EventType.RunFailed) {
      if (current && !current.ended) {
        const { status } = runStateOf([e]);
        if (status !== ThreadStatus.Running) current.ended = status;
      }
      continue;
    }
    if (e.type !== EventType.ModelCall) continue;
    const run = current ?? (runs.push({ run: 0, resumed: false, ...zero() }), runs.at(-1)!);
    const agent = e.agent || "main";
    if (!agents.has(agent)) agents.set(agent, { agent, ...zero() });
    for (const t of [total, run, agents.get(agent)!]) addModelCall(t, e.data);
  }
  return { total, runs, agents: [...agents.values()].filter((a) => a.calls > 0) };
}

/** The model usage of a whole thread (what `threads` lists). */
export function usageTotals(events: readonly VibewriterEvent[]): ModelUsageTotals {
  return threadUsage(events).total;
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** One pending interrupt's value, as the owner needs to see it. Anything unknown is shown clipped. */
function waitOf(value: unknown): ThreadWait {
  const v = (value ?? {}) as Record<string, unknown>;
  if (v.kind === "payment_approval" && str(v.proposalId)) {
    const id = str(v.proposalId)!;
    return {
      kind: "payment_approval",
      proposalId: id,
      amount: str(v.amount) ?? "?",
      asset: str(v.asset) ?? "?",
      destination: str(v.destination) ?? "?",
      ...(str(v.reason) ? { reason: str(v.reason)! } : {}),
      approve: str(v.approve) ?? `vibewriter approve ${id}`,
      reject: str(v.reject) ?? `vibewriter reject ${id}`,
    };
  }
  if (v.kind === "child_run" && str(v.child)) return { kind: "child_run", child: str(v.child)!, question: str(v.question) ?? "" };
  if (v.kind === "budget_exhausted") {
    return { kind: "budget_exhausted", reason: str(v.reason) ?? "the run's model budget is used up", resume: str(v.resume) ?? "" };
  }
  let text: string;
  try {
    text = typeof value === "string" ? value : JSON.stringify(value);
  } catch {
    text = String(value);
  }
  return { kind: "other", value: clip(text ?? "", 200) };
}

/**
 * What an interrupted thread waits for: the interrupts pending on its latest checkpoint (a
 * subagent's interrupt is recorded there too, on the main agent's `task` call).
 */
function waitsOf(tuple: CheckpointTuple | undefined): ThreadWait[] {
  return pendingInterrupts(tuple?.pendingWrites).map((i) => waitOf((i as { value?: unknown })?.value ?? i));
}

const latestCheckpoint = (b: AgentBackbone, threadId: string) => b.checkpointer.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: "" } });

/** One line for what a paused thread waits for. */
export function describeWaits(waits: readonly ThreadWait[]): string {
  if (waits.length === 0) return "waiting for the owner";
  const parts = waits.map((w) =>
    w.kind === "payment_approval"
      ? `payment approval (${w.amount} ${w.asset} to ${w.destination}, ${w.proposalId})`
      : w.kind === "budget_exhausted"
        ? `a larger model budget (${w.reason})`
        : w.kind === "child_run"
          ? `child run ${w.child}`
          : `the owner (${w.value})`,
  );
  return `waiting for ${parts.join("; ")}`;
}

/** The status and its reason; the checkpoint is read only for an interrupted thread (`tuple`: already read). */
async function statusWithReason(
  b: AgentBackbone,
  threadId: string,
  events: readonly VibewriterEvent[],
  tuple?: CheckpointTuple,
): Promise<RunState & { waitingFor?: ThreadWait[] }> {
  const state = runStateOf(events);
  if (state.status !== ThreadStatus.Interrupted) return state;
  const waitingFor = waitsOf(tuple ?? (await latestCheckpoint(b, threadId)));
  return { ...state, reason: describeWaits(waitingFor), waitingFor };
}

/** Every thread that has events, newest activity first. */
export async function listThreads(b: AgentBackbone): Promise<ThreadSummary[]> {
  const out: ThreadSummary[] = [];
  for (const threadId of await b.events.threads()) {
    const events = await b.events.history(threadId);
    const { status, reason } = await statusWithReason(b, threadId, events);
    const task = taskOf(events);
    const { parent, children } = linksOf(events);
    out.push({
      threadId,
      ...(task ? { task } : {}),
      status,
      ...(reason ? { reason } : {}),
      hasReport: events.some((e) => e.type === EventType.ReportPublished),
      events: events.length,
      usage: usageTotals(events),
      ...(events[0] ? { startedAt: events[0].at } : {}),
      ...(events.at(-1) ? { updatedAt: events.at(-1)!.at } : {}),
      ...(parent ? { parent } : {}),
      ...(children.length ? { children: children.map((c) => c.threadId) } : {}),
    });
  }
  return out.sort((a, b) => (b.updatedAt ?? "").localeCompare(a.updatedAt ?? ""));
}

/**
 * A thread's plan (todos with status, from its latest checkpoint), the files it wrote, its
 * report, status with its reason, and model usage. An unknown thread id is an `AgentError(UnknownThread)`.
 */
export async function showThread(backbone: AgentBackbone, threadId: string): Promise<ThreadDetails> {
  return (await showThreadWithEvents(backbone, threadId)).details;
}

/** `showThread`, with the thread's events it was built from (for views that need both: one read of the log). */
export async function showThreadWithEvents(b: AgentBackbone, threadId: string): Promise<{ details: ThreadDetails; events: VibewriterEvent[] }> {
  validateThreadId(threadId);
  const [events, tuple] = await Promise.all([
    b.events.history(threadId),
    latestCheckpoint(b, threadId),
  ]);
  if (events.length === 0 && !tuple) {
    throw new AgentError(AgentErrorCode.UnknownThread, `unknown thread "${threadId}": it has no saved state and no events (see \`vibewriter threads\`)`);
  }
  const values = (tuple?.checkpoint.channel_values ?? {}) as { todos?: Todo[] };
  const files: string[] = [];
  for (const e of events) {
    if (e.type === EventType.FileWritten && typeof e.data.path === "string" && !files.includes(e.data.path)) files.push(e.data.path);
  }
  const raw = await b.blobs.get(REPORT_ARTIFACT(threadId));
  const task = taskOf(events);
  const { status, reason, waitingFor } = await statusWithReason(b, threadId, events, tuple);
  const { parent, children } = linksOf(events);
  const details: ThreadDetails = {
    threadId,
    status,
    ...(reason ? { reason } : {}),
    ...(waitingFor ? { waitingFor } : {}),
    ...(task ? { task } : {}),
    todos: (values.todos ?? []).map((t) => ({ content: t.content, status: t.status })),
    files,
    ...(raw ? { report: new TextDecoder().decode(raw) } : {}),
    events: events.length,
    usage: threadUsage(events),
    ...(parent ? { parent } : {}),
    ...(children.length ? { children } : {}),
  };
  return { details, events };
}
