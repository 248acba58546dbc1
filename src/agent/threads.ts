import type { Backbone } from "../nats/index.ts";
import { agentBackbone } from "./backbone.ts";
import { AgentError, AgentErrorCode } from "./errors.ts";
import { EventType, type VibewriterEvent } from "../nats/event-types.ts";
import type { AgentBackbone } from "./ports.ts";
import { REPORT_ARTIFACT } from "./tools/publish.ts";
import { validateThreadId, type Todo } from "./vibewriter.ts";

export const ThreadStatus = {
  Running: "running",
  Completed: "completed",
  Interrupted: "interrupted",
  Failed: "failed",
} as const;
export type ThreadStatus = (typeof ThreadStatus)[keyof typeof ThreadStatus];

export interface ThreadSummary {
  threadId: string;
  task?: string;
  status: ThreadStatus;
  hasReport: boolean;
  events: number;
  startedAt?: string;
  updatedAt?: string;
}

export interface ThreadDetails {
  threadId: string;
  status: ThreadStatus;
  task?: string;
  todos: Todo[];
  /** Files written during the run (paths in the sandbox), in order of first write. */
  files: string[];
  report?: string;
  events: number;
}

/** A thread's status as its event log tells it: the last run.* event wins. "Running" may mean "killed": resume it. */
function statusOf(events: readonly VibewriterEvent[]): ThreadStatus {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (e.type === EventType.RunFailed) return ThreadStatus.Failed;
    if (e.type === EventType.RunFinished) return e.data.status === "interrupted" ? ThreadStatus.Interrupted : ThreadStatus.Completed;
    if (e.type === EventType.RunStarted) return ThreadStatus.Running;
  }
  return ThreadStatus.Running;
}

function taskOf(events: readonly VibewriterEvent[]): string | undefined {
  for (const e of events) if (e.type === EventType.RunStarted && typeof e.data.task === "string") return e.data.task;
  return undefined;
}

/** Every thread that has events, newest activity first. */
export async function listThreads(backbone: Backbone | AgentBackbone): Promise<ThreadSummary[]> {
  const b = agentBackbone(backbone);
  const out: ThreadSummary[] = [];
  for (const threadId of await b.events.threads()) {
    const events = await b.events.history(threadId);
    out.push({
      threadId,
      ...(taskOf(events) ? { task: taskOf(events) } : {}),
      status: statusOf(events),
      hasReport: events.some((e) => e.type === EventType.ReportPublished),
      events: events.length,
      ...(events[0] ? { startedAt: events[0].at } : {}),
      ...(events.at(-1) ? { updatedAt: events.at(-1)!.at } : {}),
    });
  }
  return out.sort((a, b) => (b.updatedAt ?? "").localeCompare(a.updatedAt ?? ""));
}

/**
 * A thread's plan (todos with status, from its latest checkpoint), the files it wrote, its
 * report and status. An unknown thread id is an `AgentError(UnknownThread)`.
 */
export async function showThread(backbone: Backbone | AgentBackbone, threadId: string): Promise<ThreadDetails> {
  validateThreadId(threadId);
  const b = agentBackbone(backbone);
  const [events, tuple] = await Promise.all([
    b.events.history(threadId),
    b.checkpointer.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: "" } }),
  ]);
  if (events.length === 0 && !tuple) {
    throw new AgentError(AgentErrorCode.UnknownThread, `unknown thread "${threadId}": it has no saved state and no events (see \`vibewriter threads\`)`);
  }
  const values = (tuple?.checkpoint.channel_values ?? {}) as { todos?: Todo[] };
  const files: string[] = [];
  for (const e of events) {
    if (e.type === EventType.FileWritten && typeof e.data.path === "string" && !files.includes(e.data.path)) files.push(e.data.path);
  }
  const raw = await b.artifacts.get(REPORT_ARTIFACT(threadId));
  const task = taskOf(events);
  return {
    threadId,
    status: statusOf(events),
    ...(task ? { task } : {}),
    todos: (values.todos ?? []).map((t) => ({ content: t.content, status: t.status })),
    files,
    ...(raw ? { report: new TextDecoder().decode(raw) } : {}),
    events: events.length,
  };
}
