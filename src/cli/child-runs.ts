/**
 * The `delegate` tool's port in a worker: a child run is remembered with its options (so any
 * worker, and a later `resume`, runs it with its narrower budget) and queued as a `run` request
 * that names its parent, so the worker re-queues the parent's resume when the child ends.
 */
import type { BaseStore } from "@langchain/langgraph-checkpoint";
import { type ChildRunPort, type ChildRunRequest, rememberRunOptions } from "../agent/index.ts";
import type { RunRequest } from "../nats/index.ts";

export function queuedChildRuns(queue: { submit(req: RunRequest): Promise<void> }, store: BaseStore): ChildRunPort {
  return {
    async submit(c: ChildRunRequest) {
      await rememberRunOptions(store, c.threadId, { skills: [], allowNetwork: c.allowNetwork, maxModelCalls: c.maxModelCalls, maxTokens: c.maxTokens });
      await queue.submit({
        v: 1,
        kind: "run",
        threadId: c.threadId,
        task: c.task,
        parentThreadId: c.parentThreadId,
        ...(c.allowNetwork ? { allowNetwork: true } : {}),
        maxModelCalls: c.maxModelCalls,
        maxTokens: c.maxTokens,
        submittedAt: c.submittedAt,
      });
    },
  };
}
