/**
 * `vibewriter worker [-c N]`: pulls run requests from the queue and runs them, at most N at a time,
 * each in its own VM from the process's pool, each under its thread's lease (worker-run.ts). Hosts
 * the `vibewriter` NATS service with this worker's stats. Ctrl-C/SIGTERM: stop pulling, hand the
 * runs in flight back to the queue (their leases released first), exit 0.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { orBackboneLost, Runtime, startRunService, type WorkerStats } from "../../app/index.ts";
import { DEFAULT_ACK_WAIT_MS, NatsBackboneError, NatsErrorCode, RunQueue, thisProcess, type ThreadLease } from "../../nats/index.ts";
import { CliError, CliErrorCode } from "../errors.ts";
import type { CliContext } from "../context.ts";
import { cliModel } from "../model.ts";
import type { CommandPlan } from "../plan.ts";
import { openThreadLeases } from "../run-lease.ts";
import { runQueuedRequest, type WorkerRunReport } from "../worker-run.ts";
import { WorkerMetrics } from "../worker-metrics.ts";
import type { ThreadAct } from "../thread-runner.ts";

/** How long one pull waits for a request before looking again (the signal ends it sooner). */
const PULL_EXPIRES_MS = 30_000;
/** After a failed pull. */
const PULL_RETRY_MS = 1_000;

export const ACK_WAIT_ENV = "VIBEWRITER_RUN_ACK_WAIT_SEC";

/**
 * `VIBEWRITER_RUN_ACK_WAIT_SEC` (default 6): a worker that stops answering this long loses its
 * requests to other workers. The queue's consumer takes the last worker's value: give every worker
 * the same.
 */
export function ackWaitMsFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env[ACK_WAIT_ENV]?.trim();
  if (!raw) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < 2 || Number(raw) > 3600) {
    throw new CliError(CliErrorCode.NotConfigured, `${ACK_WAIT_ENV}="${raw}" must be a whole number of seconds from 2 to 3600.`);
  }
  return Number(raw) * 1000;
}

export async function runWorker(plan: Extract<CommandPlan, { command: "worker" }>, ctx: CliContext): Promise<number> {
  const model = cliModel(ctx.env); // first: with no model, say what to set before touching anything
  const ackWaitMs = ackWaitMsFromEnv(ctx.env);
  const workerId = `worker-${hostname()}-${process.pid}-${randomBytes(2).toString("hex")}`;
  const holder = thisProcess("worker", workerId);
  const runtime = await Runtime.open({ env: ctx.env, name: `vibewriter-${workerId}` });
  ctx.defer(() => runtime.close()); // every VM of this worker, after the runs have closed theirs; then the backbone
  const { backbone, vms } = runtime;
  const replicas = backbone.replicas;
  // Always applied: a queue made when the default was 60 s gets today's (a worker sets the fleet's).
  const queue = await RunQueue.open(backbone, { replicas, ackWaitMs: ackWaitMs ?? DEFAULT_ACK_WAIT_MS });
  const leases = await openThreadLeases(backbone, ctx.env);
  const payments = await runtime.payments();
  const skillsRoot = await mkdtemp(join(tmpdir(), "vibewriter-worker-skills-"));
  ctx.defer(() => rm(skillsRoot, { recursive: true, force: true }));

  const inFlight = new Map<string, Promise<void>>();
  const stats = new WorkerMetrics({ workerId, host: holder.host, pid: holder.pid, concurrency: plan.concurrency });
  const workerStats = (): WorkerStats => stats.stats([...inFlight.keys()], vms.stats());
  const service = await startRunService(backbone, { queue, artifacts: backbone.artifacts, worker: workerStats, store: backbone.store, events: backbone.events, leases });
  ctx.defer(() => service.stop());

  const say = (line: string) => {
    if (!plan.json) ctx.stdout.write(line + "\n");
  };
  say(`worker ${workerId}: up to ${plan.concurrency} run(s) at once, model ${model.label}, wallet ${payments.summary}. Ctrl-C stops.`);
  const ended = (r: WorkerRunReport) => {
    stats.ended(r);
    if (plan.json) ctx.stdout.write(JSON.stringify({ workerId, ...r }) + "\n");
    else say(`end   ${r.threadId}: ${r.outcome}${r.status ? ` (${r.status})` : ""}${r.reason ? ` — ${r.reason}` : ""}, ${(r.wallMs / 1000).toFixed(1)} s`);
  };

  const deps = {
    backbone,
    sandboxes: runtime.sandboxes(),
    queue,
    leases,
    holder,
    model: model.model,
    env: ctx.env,
    ...(payments.wallet ? { wallet: payments.wallet } : {}),
    skillsRoot,
    stopping: ctx.signal,
    onStart: (threadId: string, act: ThreadAct, lease: ThreadLease) => {
      const from = lease.takenOver && lease.previous ? { from: lease.previous.id, silentMs: lease.previousSilentMs ?? 0 } : undefined;
      stats.started(threadId, act.kind, from);
      say(`start ${threadId}: ${act.kind}${from ? ` (taken over from ${from.from}, silent ${(from.silentMs / 1000).toFixed(1)} s)` : ""}`);
    },
  };

  const stopped = aborted(ctx.signal);
  while (!ctx.signal.aborted) {
    if (inFlight.size >= plan.concurrency) {
      await Promise.race([...inFlight.values(), stopped]);
      continue;
    }
    let job;
    try {
      // A server gone for good (the embedded one lost, the disk full) ends the worker with its reason.
      job = await orBackboneLost(queue.next({ signal: ctx.signal, expiresMs: PULL_EXPIRES_MS }), backbone);
    } catch (e) {
      if (NatsBackboneError.isInstance(e, NatsErrorCode.ServerLost) || NatsBackboneError.isInstance(e, NatsErrorCode.DiskFull)) throw e;
      // NATS reconnecting, a leader election on a cluster: say so, and pull again shortly.
      ctx.stderr.write(`vibewriter worker: pulling a request failed (${(e as Error)?.message ?? String(e)}); trying again\n`);
      await Promise.race([new Promise((r) => setTimeout(r, PULL_RETRY_MS)), stopped]);
      continue;
    }
    if (!job) continue;
    // A second request for a thread running here is refused by its lease and re-queued; tracked apart meanwhile.
    const key = inFlight.has(job.request.threadId) ? `${job.request.threadId}#${randomBytes(2).toString("hex")}` : job.request.threadId;
    const run = runQueuedRequest(job, deps)
      .then(ended, (e: unknown) => void ctx.stderr.write(`vibewriter worker: thread ${job.request.threadId}: ${(e as Error)?.message ?? String(e)}\n`))
      .finally(() => inFlight.delete(key));
    inFlight.set(key, run);
  }
  // Stopping: each run in flight hands its request back (its lease released first).
  await Promise.allSettled(inFlight.values());
  say(`worker ${workerId} stopped: ${stats.finished} finished, ${stats.failed} failed, ${stats.takeovers} taken over.`);
  return 0;
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
