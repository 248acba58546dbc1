/** `vibewriter threads` and `vibewriter show ID`: what is stored about threads, read from NATS. */
import { listThreads, type ModelUsageTotals, showThread, type ThreadDetails, type ThreadUsage } from "../../agent/index.ts";
import { openCliBackbone } from "../backbone.ts";
import { notFoundOr } from "../not-found.ts";
import { printJson, type CliContext } from "../context.ts";
import type { CommandPlan } from "../plan.ts";
import { compactCount, describeCalls, formatCount, formatDuration } from "../progress.ts";

const clip = (s: string, n: number) => (s.length <= n ? s : s.slice(0, n - 1) + "…");

/** Tokens in a column: "12.3k", or "-" when the provider reported none. */
const tokenCell = (u: ModelUsageTotals) => (u.callsWithTokens > 0 ? compactCount(u.inputTokens + u.outputTokens) : "-");

export async function runThreads(plan: Extract<CommandPlan, { command: "threads" }>, ctx: CliContext): Promise<number> {
  const backbone = await openCliBackbone(ctx);
  const threads = await listThreads(backbone);
  if (plan.json) {
    printJson(ctx, { threads });
    return 0;
  }
  if (threads.length === 0) {
    ctx.stdout.write("No threads yet. Start one with `vibewriter run \"<task>\"` or `vibewriter demo`.\n");
    return 0;
  }
  const idWidth = Math.max(6, ...threads.map((t) => t.threadId.length));
  ctx.stdout.write(`${"THREAD".padEnd(idWidth)}  ${"STATUS".padEnd(11)}  ${"UPDATED".padEnd(19)}  REPORT  CALLS  TOKENS  TASK\n`);
  for (const t of threads) {
    const updated = (t.updatedAt ?? "").slice(0, 19).replace("T", " ");
    const task = (t.task ?? "").replace(/\s+/g, " ");
    ctx.stdout.write(
      `${t.threadId.padEnd(idWidth)}  ${t.status.padEnd(11)}  ${updated.padEnd(19)}  ${(t.hasReport ? "yes" : "-").padEnd(6)}  ${String(t.usage.calls).padStart(5)}  ${tokenCell(t.usage).padStart(6)}  ${clip(task, 60)}\n`,
    );
    // Why it is not completed, under its status: what is missing, the failure, or what it waits for.
    if (t.reason) ctx.stdout.write(`${" ".repeat(idWidth + 2)}↳ ${clip(t.reason.replace(/\s+/g, " "), 110)}\n`);
    if (t.parent) ctx.stdout.write(`${" ".repeat(idWidth + 2)}↳ child of ${t.parent}\n`);
    if (t.children?.length) ctx.stdout.write(`${" ".repeat(idWidth + 2)}↳ delegated to ${clip(t.children.join(", "), 110)}\n`);
  }
  return 0;
}

const TODO_MARK: Record<string, string> = { completed: "[x]", in_progress: "[>]", pending: "[ ]" };

/** How to go on from where the thread stands (nothing when completed; a running thread's report line says it). */
export function nextSteps(d: Pick<ThreadDetails, "threadId" | "status" | "waitingFor">): string[] {
  const resume = `vibewriter resume ${d.threadId}`;
  switch (d.status) {
    case "completed":
    case "running":
      return [];
    case "queued":
      return [`a worker starts it (\`vibewriter worker\`); the queue: vibewriter fleet`];
    case "failed":
      return [`continue it from its last saved step: ${resume}`];
    case "incomplete":
      return [`continue it (the agent is asked to finish what is missing): ${resume}`];
    case "interrupted": {
      const waits = d.waitingFor ?? [];
      const lines = waits.flatMap((w) => (w.kind === "payment_approval" ? [`decide payment ${w.proposalId}: ${w.approve}  or  ${w.reject}`] : []));
      const budget = waits.find((w) => w.kind === "budget_exhausted");
      const child = waits.find((w) => w.kind === "child_run");
      if (child) lines.push(`nothing to do: a worker resumes it when child run ${child.child} ends (see \`vibewriter show ${child.child}\`)`);
      else if (budget) lines.push(`raise the model budget and continue: ${budget.resume || `${resume} --max-model-calls N --max-tokens N`}`);
      else lines.push(`${lines.length > 0 ? "then continue it" : "continue it"}: ${resume}`);
      return lines;
    }
  }
}

function usageRow(label: string, width: number, u: ModelUsageTotals): string {
  const tokens = u.callsWithTokens > 0 ? `${formatCount(u.inputTokens).padStart(9)} in  ${formatCount(u.outputTokens).padStart(7)} out` : `${"tokens not reported".padStart(24)}`;
  return `    ${label.padEnd(width)}  ${`${formatCount(u.calls)} ${u.calls === 1 ? "call " : "calls"}`.padStart(9)}  ${tokens}  ${formatDuration(u.latencyMs).padStart(8)}`;
}

/** Model calls, tokens and time with the model: in all, per run and per agent. */
export function renderUsage(u: ThreadUsage): string[] {
  if (u.total.calls === 0) return ["model usage: no model calls recorded"];
  const lines = [`model usage: ${describeCalls(u.total)}`];
  const runLabel = (r: ThreadUsage["runs"][number]) =>
    `${r.run === 0 ? "before run 1" : `run ${r.run}`}${r.startedAt ? ` ${r.startedAt.slice(0, 19).replace("T", " ")}` : ""}${r.resumed ? " resume" : ""}`;
  const runs = u.runs.filter((r) => r.calls > 0 || r.run > 0);
  const width = Math.max(...runs.map((r) => runLabel(r).length), ...u.agents.map((a) => a.agent.length));
  lines.push("  by run:");
  for (const r of runs) lines.push(`${usageRow(runLabel(r), width, r)}  ${r.ended ?? "running or stopped"}`);
  lines.push("  by agent:");
  for (const a of u.agents) lines.push(usageRow(a.agent, width, a));
  return lines;
}

/** What `show` prints; `usage` may be absent in details built by hand. */
export function renderThread(d: Omit<ThreadDetails, "usage"> & { usage?: ThreadUsage }): string {
  const lines = [`thread ${d.threadId} — ${d.status}${d.reason ? `: ${d.reason}` : ""}`, ...(d.task ? [`task: ${d.task}`] : []), ...(d.parent ? [`child run of: ${d.parent}`] : []), ""];
  if (d.children?.length) {
    lines.push("child runs:");
    for (const c of d.children) lines.push(`  ${c.threadId}  ${c.ended ? `${c.ended.status}${c.ended.source ? `, report stored as source ${c.ended.source}` : ""}${c.ended.reason ? `: ${c.ended.reason}` : ""}` : "running"}  ${clip(c.question, 80)}`);
    lines.push("");
  }
  lines.push(d.todos.length > 0 ? "plan:" : "plan: (none yet)");
  for (const t of d.todos) lines.push(`  ${TODO_MARK[t.status] ?? "[?]"} ${t.content}`);
  lines.push("", d.files.length > 0 ? "files:" : "files: (none)");
  for (const f of d.files) lines.push(`  ${f}`);
  lines.push("", ...(d.usage ? [...renderUsage(d.usage), ""] : []), `events: ${d.events}`, "");
  const next = nextSteps(d);
  if (d.report) lines.push("report:", "", d.report.trimEnd());
  else lines.push(d.status === "running" ? `report: not yet (still running, or stopped: \`vibewriter resume ${d.threadId}\`)` : "report: none");
  if (next.length > 0) lines.push("", "next:", ...next.map((n) => `  ${n}`));
  return lines.join("\n") + "\n";
}

export async function runShow(plan: Extract<CommandPlan, { command: "show" }>, ctx: CliContext): Promise<number> {
  const backbone = await openCliBackbone(ctx);
  let details: ThreadDetails;
  try {
    details = await showThread(backbone, plan.threadId);
  } catch (e) {
    throw notFoundOr(e);
  }
  if (plan.json) printJson(ctx, { ...details, next: nextSteps(details) });
  else ctx.stdout.write(renderThread(details));
  return 0;
}
