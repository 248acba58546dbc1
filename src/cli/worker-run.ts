/**
 * One queued request in a worker: take the thread's lease, run the thread (a fresh task) or resume
 * it (a takeover after a dead worker, a paused run whose decision came, a parent whose child
 * ended), keep the request alive on the queue meanwhile, and settle it: ack when the run
 * completed, paused or failed for good; back on the queue when the lease is held elsewhere or the
 * worker stops; nothing when the lease was lost (whoever holds it now owns the thread).
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { materializeThreadSkills, pendingInterrupts, resumeOptions, type SandboxPort } from "../agent/index.ts";
import { type Backbone, describeHolder, EventType, isNatsOutage, LeaseHeldError, type LeaseHolder, LeaseLostError, type QueuedRun, type RunQueue, type ThreadLease, type ThreadLeases } from "../nats/index.ts";
import type { Wallet } from "../wallet/index.ts";
import { queuedChildRuns } from "./child-runs.ts";
import { runThread, type ThreadAct } from "./thread-runner.ts";

/** How a queued request ended in this worker. */
export const WorkerOutcome = {
  /** The run ended: completed, paused (owner, child), incomplete or failed; acknowledged. */
  Finished: "finished",
  /** The run failed (an error, or no outcome); acknowledged: the owner may resume it. */
  Failed: "failed",
  /** Another process holds the thread (or its lease could not be read): back on the queue for later. */
  Held: "held",
  /** The worker is stopping: back on the queue for another worker. */
  HandedBack: "handed_back",
  /** Our lease was taken over mid-run: the run was abandoned, the request left to its new holder. */
  LeaseLost: "lease_lost",
  /** Nothing to run (no task, no saved state): dropped. */
  Dropped: "dropped",
} as const;
export type WorkerOutcome = (typeof WorkerOutcome)[keyof typeof WorkerOutcome];

export interface WorkerRunReport {
  threadId: string;
  kind: "run" | "resume";
  outcome: WorkerOutcome;
  /** The run's status when it ran (completed, interrupted, incomplete, failed). */
  status?: string;
  reason?: string;
  /** Taken from a worker that died (its lease expired). */
  takenOver: boolean;
  deliveryCount: number;
  wallMs: number;
  /** The parent whose resume was queued because this child ended. */
  parentResumed?: string;
}

export interface WorkerDeps {
  backbone: Backbone;
  /** The worker's VM pool, each thread's /workspace saved in the backbone's Object Store. */
  sandboxes: SandboxPort;
  queue: RunQueue;
  leases: ThreadLeases;
  holder: LeaseHolder;
  model: BaseChatModel;
  env: NodeJS.ProcessEnv;
  wallet?: Wallet;
  /** Each thread's stored skills are written under `<it>/<thread>` for its run. */
  skillsRoot: string;
  /** Aborted when the worker stops. */
  stopping: AbortSignal;
  /** A run starts here (after its lease was taken and its request found runnable). */
  onStart?: (threadId: string, act: ThreadAct, lease: ThreadLease) => void;
}

/** Thrown into the run when the worker stops: the request goes back to the queue. */
class WorkerStopping extends Error {
  override name = "WorkerStopping";
}

const LEASE_ERROR_RETRY_MS = 5_000;
/** A run cut by a NATS outage is queued again after this, at most OUTAGE_RETRIES times. */
const OUTAGE_RETRY_MS = 3_000;
const OUTAGE_RETRIES = 5;

/** The ack wait is reset this often (a third of it, as the queue asks). */
const heartbeatEvery = (queue: RunQueue) => Math.max(1_000, Math.floor(queue.ackWaitMs / 3));

export async function runQueuedRequest(job: QueuedRun, d: WorkerDeps): Promise<WorkerRunReport> {
  const req = job.request;
  const threadId = req.threadId;
  const started = performance.now();
  const report = (outcome: WorkerOutcome, more: Partial<WorkerRunReport> = {}): WorkerRunReport => ({
    threadId,
    kind: req.kind,
    outcome,
    takenOver: false,
    deliveryCount: job.deliveryCount,
    wallMs: Math.round(performance.now() - started),
    ...more,
  });
  const heartbeat = setInterval(() => job.working(), heartbeatEvery(d.queue));
  try {
    let lease;
    try {
      lease = await d.leases.acquire(threadId, d.holder);
    } catch (e) {
      if (!LeaseHeldError.isInstance(e)) {
        // The lease table unreachable (NATS reconnecting): not the request's fault, try it again soon.
        await job.retry(LEASE_ERROR_RETRY_MS);
        return report(WorkerOutcome.Held, { reason: `the thread's lease could not be read: ${(e as Error)?.message ?? String(e)}` });
      }
      // Runnable again once that holder's lease could have expired (if it died), not before.
      await job.retry(Math.max(1_000, e.retryInMs));
      return report(WorkerOutcome.Held, { reason: `held by ${describeHolder(e.holder)}, renewed ${Math.round(e.renewedAgoMs / 1000)} s ago` });
    }
    const stop = new AbortController();
    const onStopping = () => stop.abort(new WorkerStopping("the worker is stopping"));
    if (d.stopping.aborted) onStopping();
    d.stopping.addEventListener("abort", onStopping, { once: true });
    lease.lost.catch((e: LeaseLostError) => stop.abort(e));
    const skillsDir = join(d.skillsRoot, threadId);
    try {
      const act = await actFor(d.backbone, req);
      if (!act) {
        await job.drop(`nothing to run on thread ${threadId}: no task and no saved state`);
        return report(WorkerOutcome.Dropped, { takenOver: lease.takenOver });
      }
      d.onStart?.(threadId, act, lease);
      const given = { skills: [], allowNetwork: req.allowNetwork ?? false, maxModelCalls: req.maxModelCalls, maxTokens: req.maxTokens };
      const { remembered: _, ...options } = await resumeOptions(d.backbone.store, threadId, given);
      // The thread's skills travel as its artifacts; remembered host folders would name another machine's.
      options.skills = await materializeThreadSkills(d.backbone.blobs, threadId, skillsDir);
      const result = await runThread(
        {
          backbone: d.backbone,
          sandboxes: d.sandboxes,
          threadId,
          model: d.model,
          env: d.env,
          options,
          ...(d.wallet ? { wallet: d.wallet } : {}),
          childRuns: queuedChildRuns(d.queue, d.backbone.store),
          signal: stop.signal,
          lease,
          since: started,
        },
        act,
      );
      await job.ack();
      const parentResumed = result.status !== "interrupted" ? await resumeParent(d.queue, req.parentThreadId) : undefined;
      const failed = result.status === "failed";
      return report(failed ? WorkerOutcome.Failed : WorkerOutcome.Finished, {
        status: result.status,
        ...(result.reason ? { reason: result.reason } : {}),
        takenOver: lease.takenOver,
        ...(parentResumed ? { parentResumed } : {}),
      });
    } catch (e) {
      const reason = stop.signal.aborted ? stop.signal.reason : e;
      if (reason instanceof WorkerStopping) {
        await lease.release(); // first: the next worker must find the thread free
        await job.retry(0);
        return report(WorkerOutcome.HandedBack, { takenOver: lease.takenOver });
      }
      if (LeaseLostError.isInstance(reason)) {
        // Someone else runs the thread now: no ack (this request is theirs to settle or repeat).
        return report(WorkerOutcome.LeaseLost, { reason: reason.message, takenOver: lease.takenOver });
      }
      const message = (e as Error)?.message ?? String(e);
      if (isNatsOutage(e) && job.retries < OUTAGE_RETRIES) {
        // NATS did not answer (a leader election, a node gone): not the run's fault. Back on the
        // queue; the next runner resumes from the last checkpoint, journaled effects do not repeat.
        await lease.release();
        await job.retry(OUTAGE_RETRY_MS);
        return report(WorkerOutcome.HandedBack, { reason: `NATS did not answer (${message.split("\n")[0]!.slice(0, 200)}); queued again`, takenOver: lease.takenOver });
      }
      // The run failed (an error in the run, its sandbox or its setup): recorded, and off the queue.
      await d.backbone.events.publish(threadId, { type: EventType.RunFailed, agent: "main", data: { message: `worker ${d.holder.id}: ${message}`, wallMs: Math.round(performance.now() - started) } }).catch(() => {});
      await job.ack().catch(() => {});
      const parentResumed = await resumeParent(d.queue, req.parentThreadId);
      return report(WorkerOutcome.Failed, { reason: message.split("\n")[0]!.slice(0, 300), takenOver: lease.takenOver, ...(parentResumed ? { parentResumed } : {}) });
    } finally {
      d.stopping.removeEventListener("abort", onStopping);
      await lease.release();
      await rm(skillsDir, { recursive: true, force: true }).catch(() => {});
    }
  } finally {
    clearInterval(heartbeat);
  }
}

/**
 * A fresh run for a thread with no saved state; otherwise a resume (a takeover, a decision, a
 * child's end), answering the pause when the thread waits on one.
 */
async function actFor(backbone: Backbone, req: QueuedRun["request"]): Promise<ThreadAct | undefined> {
  const tuple = await backbone.checkpointer.getTuple({ configurable: { thread_id: req.threadId, checkpoint_ns: "" } });
  if (!tuple) return req.kind === "run" && req.task ? { kind: "run", task: req.task } : undefined;
  // Paused while a task still waits on an interrupt (a step resumed in part included), as `resume` judges it.
  return { kind: "resume", waiting: pendingInterrupts(tuple.pendingWrites).length > 0 };
}

/** A child that ended wakes its parent: the parent's resume goes on the queue. */
async function resumeParent(queue: RunQueue, parentThreadId: string | undefined): Promise<string | undefined> {
  if (!parentThreadId) return undefined;
  await queue.submit({ v: 1, kind: "resume", threadId: parentThreadId, submittedAt: new Date().toISOString() });
  return parentThreadId;
}
