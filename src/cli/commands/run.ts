/**
 * `vibewriter run`, `resume` and `demo`: open the backbone, build the agent for the thread, show
 * progress, print the result. Ctrl-C stops the run (the state is already in NATS) and says how to
 * resume it; the VM and an embedded nats-server are stopped on every exit path.
 */
import { randomBytes } from "node:crypto";
import { createVibewriter, type RunResult, type Vibewriter } from "../../agent/vibewriter.ts";
import { DEMO_TASK } from "../../agent/demo-model.ts";
import { SAMPLES_DIR } from "../../agent/samples.ts";
import { showThread } from "../../agent/threads.ts";
import { closeSandboxPool } from "../../agent/sandbox.ts";
import type { PaymentApprovalRequest } from "../../agent/tools/payment.ts";
import { openRunWallet } from "../wallet.ts";
import { NatsRole } from "../../nats/auth.ts";
import { openCliBackbone, orBackboneLost } from "../backbone.ts";
import { CliError, CliErrorCode } from "../errors.ts";
import { printJson, type CliContext } from "../context.ts";
import { cliModel, scriptedModel, type CliModel } from "../model.ts";
import type { CommandPlan } from "../plan.ts";
import { RunDisplay } from "../run-display.ts";
import { notFoundOr } from "../not-found.ts";
import { rememberRunOptions, resumeOptions, type RunOptions } from "../run-options.ts";
import { budgetFromEnv, type BudgetLimits } from "../../agent/run-budget.ts";
import type { BudgetRequest } from "../../agent/middleware/model-calls.ts";

/** A new thread id: sortable by time, unique enough, and valid for the agent's rule. */
export function newThreadId(prefix = "t", now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `${prefix}-${stamp}-${randomBytes(3).toString("hex")}`;
}

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
  act: (vw: Vibewriter, waiting: boolean) => Promise<RunResult>;
  /** "run" or "resume", for messages. */
  verb: string;
}

async function runSession(s: Session, ctx: CliContext): Promise<number> {
  const display = new RunDisplay(ctx.stdout, s.json);
  display.note(`${s.verb} thread ${s.threadId} with ${s.model.label}`);
  const backbone = await openCliBackbone(ctx, `vibewriter-${s.verb}-${process.pid}`, { role: NatsRole.Runtime });
  ctx.defer(() => closeSandboxPool()); // every VM this process started, after the thread's own closes
  // Resuming a thread that does not exist is a typo: say so before starting a VM.
  const before = s.verb === "resume" ? await showThread(backbone, s.threadId).catch((e) => Promise.reject(notFoundOr(e))) : undefined;
  let options: RunOptions = { skills: s.skillDirs, allowNetwork: s.allowNetwork ?? false, ...s.budget };
  if (s.verb === "resume") {
    const resumed = await resumeOptions(backbone.store, s.threadId, options);
    options = resumed;
    if (resumed.remembered) {
      display.note(`with the run's options: skills ${options.skills.length ? options.skills.join(", ") : "built-in only"}, network ${options.allowNetwork ? "allowed" : "off"}`);
    }
  } else await rememberRunOptions(backbone.store, s.threadId, options);
  const payments = await openRunWallet(backbone, ctx.env);
  display.note(`wallet: ${payments.summary}`);
  checkAborted(ctx, s.threadId);
  const vw = await createVibewriter({
    backbone,
    threadId: s.threadId,
    model: s.model.model,
    ...(s.sourcesDir ? { sourcesDir: s.sourcesDir } : {}),
    skillDirs: options.skills,
    ...(options.allowNetwork ? { allowNetwork: true } : {}),
    budget: runBudget(ctx.env, options),
    expectReport: true,
    wallet: payments.wallet,
    onEvent: display.onEvent,
  });
  ctx.defer(() => vw.close()); // runs before the backbone closes (cleanups run in reverse)
  const result = await untilAborted(orBackboneLost(s.act(vw, before?.status === "interrupted"), backbone), ctx, s.threadId);
  display.clear();
  // Only a run whose outcome exists succeeds; a pause for the owner is not a failure.
  const ok = result.status === "completed" || result.status === "interrupted";
  if (s.json) printJson(ctx, { ok, scripted: s.model.scripted, ...result });
  else ctx.stdout.write(renderResult(result));
  return ok ? 0 : 1;
}

/** The thread's budget: this command's flags, else the run's remembered ones, else the environment's. */
function runBudget(env: NodeJS.ProcessEnv, options: RunOptions): BudgetLimits {
  try {
    return budgetFromEnv(env, { maxCalls: options.maxModelCalls, maxTokens: options.maxTokens });
  } catch (e) {
    throw new CliError(CliErrorCode.Usage, (e as Error).message);
  }
}

function interrupted(threadId: string): CliError {
  return new CliError(CliErrorCode.Interrupted, `Interrupted. Thread ${threadId} is saved in NATS.`, {
    fix: `Continue it with: vibewriter resume ${threadId}`,
  });
}

function checkAborted(ctx: CliContext, threadId: string): void {
  if (ctx.signal.aborted) throw interrupted(threadId);
}

/**
 * Waits for the run, or for Ctrl-C. The graph cannot be cancelled from outside mid-step, so on
 * Ctrl-C we stop waiting; cleanup then closes the VM and the connection, which ends the step.
 * Nothing is lost: every completed step is checkpointed, and journaled side effects do not repeat.
 */
function untilAborted<T>(work: Promise<T>, ctx: CliContext, threadId: string): Promise<T> {
  work.catch(() => {}); // after an abort its rejection (closed connection) is expected and ignored
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(interrupted(threadId));
    if (ctx.signal.aborted) return onAbort();
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => ctx.signal.removeEventListener("abort", onAbort));
  });
}

/**
 * Sent as the resume value of a run paused for the owner. Its content is ignored on purpose: the
 * payment tool trusts only the decision `vibewriter approve|reject` recorded in NATS.
 */
export const RESUME_AFTER_DECISION = { continue: true } as const;

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

export async function runRun(plan: Extract<CommandPlan, { command: "run" }>, ctx: CliContext): Promise<number> {
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
      act: (vw) => vw.run(plan.task),
      verb: "run",
    },
    ctx,
  );
}

export async function runResume(plan: Extract<CommandPlan, { command: "resume" }>, ctx: CliContext): Promise<number> {
  const model = cliModel(ctx.env);
  try {
    return await runSession(
      { threadId: plan.threadId, json: plan.json, model, skillDirs: plan.skills, allowNetwork: plan.allowNetwork, budget: { maxModelCalls: plan.maxModelCalls, maxTokens: plan.maxTokens }, act: (vw, waiting) => vw.resume(waiting ? RESUME_AFTER_DECISION : undefined), verb: "resume" },
      ctx,
    );
  } catch (e) {
    throw notFoundOr(e);
  }
}

export async function runDemo(plan: Extract<CommandPlan, { command: "demo" }>, ctx: CliContext): Promise<number> {
  return runSession(
    {
      threadId: plan.threadId ?? newThreadId("demo"),
      json: plan.json,
      model: scriptedModel(),
      sourcesDir: SAMPLES_DIR,
      skillDirs: [],
      act: (vw) => vw.run(DEMO_TASK),
      verb: "demo",
    },
    ctx,
  );
}
