/**
 * `vibewriter run`, `resume` and `demo`: open the backbone, take the thread's lease (a second
 * process on the thread is refused, naming the first), build the agent for the thread, show
 * progress, print the result. Ctrl-C stops the run, also while it is being prepared (the state is
 * already in NATS) and says how to resume it; a lost lease stops it too. The VM, the lease and an
 * embedded nats-server are released on every exit path.
 */
import { newThreadId } from "../../config/index.ts";
import { type BudgetRequest, DEMO_TASK, type PaymentApprovalRequest, rememberRunOptions, resumeOptions, type RunOptions, type RunResult, SAMPLES_DIR, showThread } from "../../agent/index.ts";
import { Runtime, type VmPool } from "../../app/index.ts";
import { type Backbone, LeaseLostError, queueRunRequest, type RunRequest, thisProcess } from "../../nats/index.ts";
import { CliError, CliErrorCode } from "../errors.ts";
import { printJson, type CliContext } from "../context.ts";
import { cliModel, scriptedModel, type CliModel } from "../model.ts";
import type { CommandPlan } from "../plan.ts";
import { RunDisplay } from "../run-display.ts";
import { notFoundOr } from "../not-found.ts";
import { leaseLostError, openThreadLeases, takeThreadLease } from "../run-lease.ts";
import { runThread, type ThreadAct } from "../thread-runner.ts";
import { queuedChildRuns } from "../child-runs.ts";

export { RESUME_AFTER_DECISION } from "../thread-runner.ts";

interface Session {
  threadId: string;
  json: boolean;
  model: CliModel;
  sourcesDir?: string;
  skillDirs: string[];
  allowNetwork?: boolean;
  /** `--max-model-calls`, `--max-tokens` given on this command line. */
  budget?: { maxModelCalls?: number; maxTokens?: number };
  /** What to do with the agent once built; `waiting` when the thread paused for a decision. */
  act: (waiting: boolean) => ThreadAct;
  /** "run" or "resume", for messages. */
  verb: string;
}

async function runSession(s: Session, ctx: CliContext, vms: VmPool): Promise<number> {
  const display = new RunDisplay(ctx.stdout, s.json);
  display.note(`${s.verb} thread ${s.threadId} with ${s.model.label}`);
  const runtime = await Runtime.open({ env: ctx.env, name: `vibewriter-${s.verb}-${process.pid}`, vms });
  ctx.defer(() => runtime.close()); // every VM this process started, after the thread's own closes; then the backbone
  const backbone = runtime.backbone;
  // One signal stops the run wherever it is (preparing or running): Ctrl-C, or the lease lost.
  const stop = new AbortController();
  const onInterrupt = () => stop.abort(interrupted(s.threadId));
  if (ctx.signal.aborted) onInterrupt();
  ctx.signal.addEventListener("abort", onInterrupt, { once: true });
  ctx.defer(() => ctx.signal.removeEventListener("abort", onInterrupt));
  // Resuming a thread that does not exist is a typo: say so before starting a VM.
  const before = s.verb === "resume" ? await showThread(backbone, s.threadId).catch((e) => Promise.reject(notFoundOr(e))) : undefined;
  // One runner per thread: before anything of the thread is written or its VM prepared.
  const lease = await takeThreadLease(await openThreadLeases(backbone, ctx.env), s.threadId, thisProcess("run"));
  ctx.defer(() => lease.release()); // after the VM is closed, before the backbone (cleanups run in reverse)
  lease.lost.catch((e: LeaseLostError) => stop.abort(leaseLostError(s.threadId, e)));
  if (lease.takenOver) display.note(`took the thread over from ${lease.previous?.kind} ${lease.previous?.id} on ${lease.previous?.host} (it stopped renewing its lease)`);
  let options: RunOptions = { skills: s.skillDirs, allowNetwork: s.allowNetwork ?? false, ...s.budget };
  if (s.verb === "resume") {
    const resumed = await resumeOptions(backbone.store, s.threadId, options);
    options = resumed;
    if (resumed.remembered) {
      display.note(`with the run's options: skills ${options.skills.length ? options.skills.join(", ") : "built-in only"}, network ${options.allowNetwork ? "allowed" : "off"}`);
    }
  } else await rememberRunOptions(backbone.store, s.threadId, options);
  const payments = await runtime.payments();
  display.note(`wallet: ${payments.summary}`);
  stop.signal.throwIfAborted();
  const result = await runThread(
    {
      backbone,
      sandboxes: runtime.sandboxes(),
      threadId: s.threadId,
      model: s.model.model,
      env: ctx.env,
      options,
      ...(s.sourcesDir ? { sourcesDir: s.sourcesDir } : {}),
      wallet: payments.wallet,
      // A thread that delegated keeps `delegate` on a local resume: its pending call takes the child's outcome.
      ...(before?.children?.length ? { childRuns: queuedChildRuns(childQueue(backbone), backbone.store) } : {}),
      onEvent: display.onEvent,
      signal: stop.signal,
      lease, // names this process on run.started; a takeover is logged as lease.taken_over
    },
    s.act(before?.status === "interrupted"),
  );
  // A child run resumed here (e.g. with a larger budget) wakes its waiting parent, as a worker does.
  if (before?.parent && result.status !== "interrupted") {
    await childQueue(backbone).submit({ v: 1, kind: "resume", threadId: before.parent, submittedAt: new Date().toISOString() });
    display.note(`queued the resume of its parent run ${before.parent}`);
  }
  display.clear();
  // Only a run whose outcome exists succeeds; a pause for the owner is not a failure.
  const ok = result.status === "completed" || result.status === "interrupted";
  if (s.json) printJson(ctx, { ok, scripted: s.model.scripted, ...result });
  else ctx.stdout.write(renderResult(result));
  return ok ? 0 : 1;
}

/** Puts requests on the run queue (for a thread linked to child or parent runs); leaves the workers' consumer as it is. */
function childQueue(backbone: Backbone): { submit(req: RunRequest): Promise<void> } {
  return { submit: (req) => queueRunRequest(backbone.js, req) };
}

function interrupted(threadId: string): CliError {
  return new CliError(CliErrorCode.Interrupted, `Interrupted. Thread ${threadId} is saved in NATS.`, {
    fix: `Continue it with: vibewriter resume ${threadId}`,
  });
}

export function renderResult(r: RunResult): string {
  const lines: string[] = [];
  if (r.status === "interrupted") {
    lines.push(`Thread ${r.threadId} is paused, waiting for the owner:`);
    for (const i of r.interrupts) {
      const v = ((i as { value?: unknown }).value ?? i) as Partial<PaymentApprovalRequest>;
      if (v.kind === "payment_approval") {
        lines.push(`  payment ${v.proposalId}: ${v.amount} ${v.asset} to ${v.destination} (${v.reason})`);
        lines.push(`    approve: ${v.approve}`, `    reject:  ${v.reject}`);
      } else if ((v as { kind?: string }).kind === "child_run") {
        lines.push(`  waiting for child run ${(v as { child?: string }).child}: a worker resumes this run when it ends`);
        continue;
      } else if ((v as { kind?: string }).kind === "budget_exhausted") {
        const b = v as unknown as BudgetRequest;
        lines.push(`  the model budget is used up: ${b.reason}`);
        lines.push(`    to go on, raise it: ${b.resume}`);
        continue;
      } else {
        lines.push(`  ${JSON.stringify(v)}`);
      }
    }
    lines.push(`Then continue the run: vibewriter resume ${r.threadId}`);
    return lines.join("\n") + "\n";
  }
  if (r.status === "incomplete" || r.status === "failed") {
    lines.push(`Thread ${r.threadId} ${r.status === "failed" ? "FAILED" : "is INCOMPLETE"}: ${r.reason ?? "the task's outcome is missing"}.`);
    if (r.finalMessage) lines.push("", r.finalMessage, "");
    lines.push(`Continue it with: vibewriter resume ${r.threadId}`);
    return lines.join("\n") + "\n";
  }
  lines.push(`Thread ${r.threadId} completed.`);
  if (r.report) lines.push(`Report (${r.reportArtifact}):`, "", r.report.trimEnd());
  else lines.push("No report was published.", ...(r.finalMessage ? ["", r.finalMessage] : []));
  return lines.join("\n") + "\n";
}

export async function runRun(plan: Extract<CommandPlan, { command: "run" }>, ctx: CliContext, vms: VmPool): Promise<number> {
  const model = cliModel(ctx.env); // first: with no model, say what to set before touching anything
  return runSession(
    {
      threadId: plan.threadId ?? newThreadId(),
      json: plan.json,
      model,
      ...(plan.sources ? { sourcesDir: plan.sources } : {}),
      skillDirs: plan.skills,
      allowNetwork: plan.allowNetwork,
      budget: { maxModelCalls: plan.maxModelCalls, maxTokens: plan.maxTokens },
      act: () => ({ kind: "run", task: plan.task }),
      verb: "run",
    },
    ctx,
    vms,
  );
}

export async function runResume(plan: Extract<CommandPlan, { command: "resume" }>, ctx: CliContext, vms: VmPool): Promise<number> {
  const model = cliModel(ctx.env);
  try {
    return await runSession(
      { threadId: plan.threadId, json: plan.json, model, skillDirs: plan.skills, allowNetwork: plan.allowNetwork, budget: { maxModelCalls: plan.maxModelCalls, maxTokens: plan.maxTokens }, act: (waiting) => ({ kind: "resume", waiting }), verb: "resume" },
      ctx,
      vms,
    );
  } catch (e) {
    throw notFoundOr(e);
  }
}

export async function runDemo(plan: Extract<CommandPlan, { command: "demo" }>, ctx: CliContext, vms: VmPool): Promise<number> {
  return runSession(
    {
      threadId: plan.threadId ?? newThreadId("demo"),
      json: plan.json,
      model: scriptedModel(),
      sourcesDir: SAMPLES_DIR,
      skillDirs: [],
      act: () => ({ kind: "run", task: DEMO_TASK }),
      verb: "demo",
    },
    ctx,
    vms,
  );
}
