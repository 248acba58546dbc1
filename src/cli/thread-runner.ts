/**
 * One run of one thread, the same in `vibewriter run`/`resume`/`demo` and in a worker: the run's
 * options (remembered by `run`/`submit`, read back by a resume), its budget, the agent built for
 * the thread, and the run itself — all of it stoppable by one signal (Ctrl-C, SIGTERM, a lost
 * lease, a worker stopping), including while the agent is being prepared.
 */
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { budgetFromEnv, type BudgetLimits, type ChildRunPort, createVibewriter, type RunOptions, type RunResult, type SandboxPort, type Vibewriter } from "../agent/index.ts";
import { type Backbone, EventType, type LeaseHolder, type RunnerInfo, type ThreadLease, type VibewriterEvent } from "../nats/index.ts";
import type { Wallet } from "../wallet/index.ts";
import { orBackboneLost } from "../app/index.ts";
import { CliError, CliErrorCode } from "./errors.ts";

/**
 * Sent as the resume value of a run paused for the owner. Its content is ignored on purpose: the
 * payment tool trusts only the decision `vibewriter approve|reject` recorded in NATS.
 */
export const RESUME_AFTER_DECISION = { continue: true } as const;

/** What the run does once the agent is built: a fresh task, or carry on from the checkpoint. */
export type ThreadAct = { kind: "run"; task: string } | { kind: "resume"; waiting: boolean };

export interface ThreadRun {
  backbone: Backbone;
  /** Where the thread's VM comes from: the process's pool (`src/app/vm-pool.ts`). */
  sandboxes: SandboxPort;
  threadId: string;
  model: BaseChatModel;
  env: NodeJS.ProcessEnv;
  /** Resolved: this command's, else the remembered ones (`agent/run-options.ts`). */
  options: RunOptions;
  /** `--sources` of a local run (a queued run's sources are already the thread's artifacts). */
  sourcesDir?: string;
  wallet?: Wallet;
  /** A worker's: lets the agent delegate child runs to the queue. */
  childRuns?: ChildRunPort;
  onEvent?: (e: VibewriterEvent) => void;
  /** Aborted: stop preparing or waiting at once, rejecting with the signal's `reason`. */
  signal: AbortSignal;
  /**
   * The thread's lease this run holds: names the runner on `run.started`; a takeover is logged as
   * `lease.taken_over`; while it is held (until the run ends or `lost` rejects) the checkpointer
   * reads the thread from memory, as nobody else writes it.
   */
  lease?: Pick<ThreadLease, "holder" | "takenOver" | "previous" | "previousSilentMs" | "lost">;
  /** `performance.now()` when the runner took the thread (default: now): the run's `wallMs` counts from it. */
  since?: number;
}

/**
 * Builds the thread's agent and runs `act`. The graph cannot be cancelled from outside mid-step,
 * so on abort we stop waiting and close the VM, which ends the step at its next sandbox call;
 * nothing is lost: every completed step is checkpointed, and journaled side effects do not repeat.
 * The VM is closed on every exit path.
 */
export async function runThread(r: ThreadRun, act: ThreadAct): Promise<RunResult> {
  const since = r.since ?? performance.now();
  const unhold = r.lease ? r.backbone.checkpointer.holdThread(r.threadId) : () => {};
  r.lease?.lost.catch(unhold);
  try {
    return await runLeased(r, act, since);
  } finally {
    unhold();
  }
}

async function runLeased(r: ThreadRun, act: ThreadAct, since: number): Promise<RunResult> {
  if (r.lease?.takenOver && r.lease.previous) await logTakeover(r.backbone, r.threadId, r.lease);
  const creating = createVibewriter({
    backbone: r.backbone,
    sandboxes: r.sandboxes,
    threadId: r.threadId,
    model: r.model,
    ...(r.sourcesDir ? { sourcesDir: r.sourcesDir } : {}),
    skillDirs: r.options.skills,
    ...(r.options.allowNetwork ? { allowNetwork: true } : {}),
    budget: runBudget(r.env, r.options),
    expectReport: true,
    ...(r.wallet ? { wallet: r.wallet } : {}),
    ...(r.childRuns ? { childRuns: r.childRuns } : {}),
    ...(r.onEvent ? { onEvent: r.onEvent } : {}),
    signal: r.signal,
    ...(r.lease ? { runner: { info: runnerInfo(r.lease.holder), takenOver: r.lease.takenOver } } : {}),
    runSince: since,
  });
  let vw: Vibewriter;
  try {
    vw = await untilStopped(orBackboneLost(creating, r.backbone), r.signal);
  } catch (e) {
    void creating.then((late) => late.close(), () => {}); // built after we stopped waiting: close it
    throw e;
  }
  try {
    const work = act.kind === "run" ? vw.run(act.task) : vw.resume(act.waiting ? RESUME_AFTER_DECISION : undefined);
    return await untilStopped(orBackboneLost(work, r.backbone), r.signal);
  } finally {
    await vw.close();
  }
}

/** A lease holder as the events name a runner. */
export function runnerInfo(h: LeaseHolder): RunnerInfo {
  return { kind: h.kind, id: h.id, host: h.host, pid: h.pid };
}

/**
 * `lease.taken_over` on the thread: who went silent, for how long, who took it. Its id names both
 * holders, so a replayed publish is dropped; a failure to log never stops the run.
 */
async function logTakeover(backbone: Backbone, threadId: string, lease: NonNullable<ThreadRun["lease"]>): Promise<void> {
  const from = runnerInfo(lease.previous!);
  const by = runnerInfo(lease.holder);
  await backbone.events
    .publish(threadId, { id: `lease:${from.id}:to:${by.id}`, type: EventType.LeaseTakenOver, agent: "main", data: { from, silentMs: Math.round(lease.previousSilentMs ?? 0), by } })
    .catch(() => {});
}

/** The thread's budget: this command's flags, else the run's remembered ones, else the environment's. */
export function runBudget(env: NodeJS.ProcessEnv, options: RunOptions): BudgetLimits {
  try {
    return budgetFromEnv(env, { maxCalls: options.maxModelCalls, maxTokens: options.maxTokens });
  } catch (e) {
    throw new CliError(CliErrorCode.Usage, (e as Error).message);
  }
}

/** `work`, or the signal's reason as soon as it aborts (the work's later failure is then ignored). */
export function untilStopped<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  work.catch(() => {});
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
