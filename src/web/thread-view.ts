/**
 * Threads as the console shows them: the list with cost so far and waiting approvals, and one
 * thread with its agent tree, stored files and payments. Built from `listThreads`/`showThread`
 * (the CLI's own views), the thread's events and the wallet's records.
 */
import { listThreads, REPORT_ARTIFACT, showThreadWithEvents, ThreadStatus } from "../agent/index.ts";
import type { Backbone } from "../nats/index.ts";
import type { PaymentRecord } from "../wallet/index.ts";
import { agentTree } from "./agent-tree.ts";
import type { ArtifactView, ConsoleThread, ConsoleThreadRow, NodeStatus } from "./api-types.ts";
import { paidByThread, paymentView, waitingByThread } from "./payment-view.ts";

/** Every object of a thread is stored under this prefix; the console's file paths are relative to it. */
export const threadPrefix = (threadId: string) => `threads/${threadId}/`;

export async function threadRows(backbone: Backbone, payments: readonly PaymentRecord[]): Promise<ConsoleThreadRow[]> {
  const paid = paidByThread(payments);
  const waiting = waitingByThread(payments);
  return (await listThreads(backbone)).map((t) => ({
    ...t,
    cost: { modelCalls: t.usage.calls, inputTokens: t.usage.inputTokens, outputTokens: t.usage.outputTokens, paid: paid.get(t.threadId) ?? [] },
    waitingApprovals: waiting.get(t.threadId) ?? 0,
  }));
}

const mainStatusOf = (s: ThreadStatus): NodeStatus => (s === ThreadStatus.Failed ? "error" : s === ThreadStatus.Completed || s === ThreadStatus.Incomplete ? "ok" : "running");

/** The thread's stored objects (its /workspace files, its report), paths relative to the thread. */
export async function threadArtifacts(backbone: Backbone, threadId: string): Promise<ArtifactView[]> {
  const prefix = threadPrefix(threadId);
  return (await backbone.artifacts.list(prefix))
    .map((i) => ({ path: i.name.slice(prefix.length), bytes: i.size, artifact: i.name }))
    .sort((a, b) => a.path.localeCompare(b.path));
}

/** One thread; an unknown id throws the agent's unknown_thread error. */
export async function threadView(backbone: Backbone, threadId: string, payments: readonly PaymentRecord[]): Promise<ConsoleThread> {
  const [{ details, events }, artifacts] = await Promise.all([showThreadWithEvents(backbone, threadId), threadArtifacts(backbone, threadId)]);
  return {
    ...details,
    agents: agentTree(events, mainStatusOf(details.status)),
    artifacts,
    payments: payments.filter((p) => p.requestedBy === threadId).map(paymentView),
    hasReport: details.report !== undefined || artifacts.some((a) => a.artifact === REPORT_ARTIFACT(threadId)),
  };
}
