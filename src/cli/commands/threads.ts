/** `vibewriter threads` and `vibewriter show ID`: what is stored about threads, read from NATS. */
import { listThreads, showThread, type ThreadDetails } from "../../agent/threads.ts";
import { openCliBackbone } from "../backbone.ts";
import { notFoundOr } from "../not-found.ts";
import { printJson, type CliContext } from "../context.ts";
import type { CommandPlan } from "../plan.ts";

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
  ctx.stdout.write(`${"THREAD".padEnd(idWidth)}  ${"STATUS".padEnd(11)}  ${"UPDATED".padEnd(19)}  REPORT  TASK\n`);
  for (const t of threads) {
    const updated = (t.updatedAt ?? "").slice(0, 19).replace("T", " ");
    const task = (t.task ?? "").replace(/\s+/g, " ");
    ctx.stdout.write(
      `${t.threadId.padEnd(idWidth)}  ${t.status.padEnd(11)}  ${updated.padEnd(19)}  ${(t.hasReport ? "yes" : "-").padEnd(6)}  ${task.length > 60 ? task.slice(0, 59) + "…" : task}\n`,
    );
  }
  return 0;
}

const TODO_MARK: Record<string, string> = { completed: "[x]", in_progress: "[>]", pending: "[ ]" };

export function renderThread(d: ThreadDetails): string {
  const lines = [`thread ${d.threadId} — ${d.status}`, ...(d.task ? [`task: ${d.task}`] : []), ""];
  lines.push(d.todos.length > 0 ? "plan:" : "plan: (none yet)");
  for (const t of d.todos) lines.push(`  ${TODO_MARK[t.status] ?? "[?]"} ${t.content}`);
  lines.push("", d.files.length > 0 ? "files:" : "files: (none)");
  for (const f of d.files) lines.push(`  ${f}`);
  lines.push("", `events: ${d.events}`, "");
  if (d.report) lines.push("report:", "", d.report.trimEnd());
  else lines.push(d.status === "running" ? `report: not yet (still running, or stopped: \`vibewriter resume ${d.threadId}\`)` : "report: none");
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
  if (plan.json) printJson(ctx, details);
  else ctx.stdout.write(renderThread(details));
  return 0;
}
