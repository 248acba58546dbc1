/**
 * Put a new thread on the run queue: what `vibewriter submit` and the NATS service's `submit`
 * endpoint both do. Everything a worker on another machine needs travels through NATS: the
 * sources and skills as the thread's artifacts, the run options in the memory KV, the request on
 * the queue. The thread's log says `run.queued` first, so `threads` shows it at once.
 */
import type { BaseStore } from "@langchain/langgraph-checkpoint";
import { EventType, queueRunRequest, type RunRequest } from "../nats/index.ts";
import type { JetStreamClient } from "@nats-io/jetstream";
import { rememberRunOptions } from "./run-options.ts";
import { AgentError, AgentErrorCode } from "./errors.ts";
import type { ArtifactPort, EventPort } from "./ports.ts";
import type { Skill } from "./skills.ts";
import { storeSources, type Source } from "./sources.ts";
import { storeLoadedSkills } from "./thread-skills.ts";
import { validateThreadId } from "./vibewriter.ts";

export interface QueueThreadInput {
  threadId: string;
  task: string;
  /** Already loaded and checked (`loadSourcesDir`, `sourceFromBytes`). */
  sources: readonly Source[];
  skills: readonly Skill[];
  allowNetwork: boolean;
  maxModelCalls?: number;
  maxTokens?: number;
  /** Who queued it, for the log: "submit", "service". */
  by: string;
}

export interface QueueThreadDeps {
  blobs: ArtifactPort;
  store: BaseStore;
  events: EventPort;
  js: JetStreamClient;
}

/** Store, log and queue a new thread; resolves with the queued request. Refuses a thread that exists. */
export async function queueThread(deps: QueueThreadDeps, input: QueueThreadInput): Promise<RunRequest> {
  validateThreadId(input.threadId);
  if (typeof input.task !== "string" || input.task.trim() === "") throw new AgentError(AgentErrorCode.InvalidArgument, "a task is required");
  if ((await deps.events.history(input.threadId)).length > 0) {
    throw new AgentError(AgentErrorCode.InvalidArgument, `thread ${input.threadId} already exists: pick a new id, or continue it with \`vibewriter resume ${input.threadId}\``);
  }
  const submittedAt = new Date().toISOString();
  const request: RunRequest = {
    v: 1,
    kind: "run",
    threadId: input.threadId,
    task: input.task,
    submittedAt,
    ...(input.allowNetwork ? { allowNetwork: true } : {}),
    ...(input.maxModelCalls ? { maxModelCalls: input.maxModelCalls } : {}),
    ...(input.maxTokens ? { maxTokens: input.maxTokens } : {}),
  };
  if (input.sources.length > 0) await storeSources(deps.blobs, input.threadId, input.sources);
  await storeLoadedSkills(deps.blobs, input.threadId, input.skills);
  // Skills travel as artifacts (a worker has no such host folders): none remembered as paths.
  await rememberRunOptions(deps.store, input.threadId, {
    skills: [],
    allowNetwork: input.allowNetwork,
    ...(input.maxModelCalls ? { maxModelCalls: input.maxModelCalls } : {}),
    ...(input.maxTokens ? { maxTokens: input.maxTokens } : {}),
  });
  await deps.events.publish(input.threadId, {
    type: EventType.RunQueued,
    id: `queued/run/${submittedAt}`,
    data: {
      kind: "run",
      task: input.task,
      sources: input.sources.length,
      skills: input.skills.map((s) => s.name),
      allowNetwork: input.allowNetwork,
      by: input.by,
    },
  });
  try {
    await queueRunRequest(deps.js, request);
  } catch (err) {
    // The log said "queued": say it was not, so the thread does not look queued forever.
    await deps.events
      .publish(input.threadId, { type: EventType.RunFailed, id: `queued/failed/${submittedAt}`, data: { message: `could not be queued: ${(err as Error).message}` } })
      .catch(() => {});
    throw err;
  }
  return request;
}

/**
 * After an owner's decision on a thread that ran from the queue: queue its resume (a paused run
 * holds no worker). Needs publish rights on the runs and events subjects only (the owner has them).
 * Resolves false when the thread never came from the queue (it is resumed where it runs).
 */
export async function requeueAfterDecision(deps: { events: EventPort; js: JetStreamClient }, threadId: string, by: string): Promise<boolean> {
  const queued = (await deps.events.history(threadId, { types: [EventType.RunQueued] })).length > 0;
  if (!queued) return false;
  const submittedAt = new Date().toISOString();
  await deps.events.publish(threadId, { type: EventType.RunQueued, id: `queued/resume/${submittedAt}`, data: { kind: "resume", by } });
  await queueRunRequest(deps.js, { v: 1, kind: "resume", threadId, submittedAt });
  return true;
}
