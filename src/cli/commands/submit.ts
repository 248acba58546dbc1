/**
 * `vibewriter submit "<task>"`: queue a thread for a worker and print its id at once. The sources
 * and skills are read and checked here, before anything is stored: a bad folder is refused with
 * nothing queued. Needs no model (the worker has one).
 */
import { loadSkills, loadSourcesDir, queueThread, type Source } from "../../agent/index.ts";
import { NatsRole, RunQueue } from "../../nats/index.ts";
import { openCliBackbone } from "../backbone.ts";
import { printJson, type CliContext } from "../context.ts";
import { CliError, CliErrorCode } from "../errors.ts";
import type { CommandPlan } from "../plan.ts";
import { newThreadId } from "../../config/index.ts";

export async function runSubmit(plan: Extract<CommandPlan, { command: "submit" }>, ctx: CliContext): Promise<number> {
  const threadId = plan.threadId ?? newThreadId();
  // Read everything first: a refused folder costs no NATS write.
  const sources: Source[] = plan.sources ? await loadSourcesDir(plan.sources) : [];
  const { skills, warnings } = await loadSkills(plan.skills);
  const unreadable = warnings.filter((w) => plan.skills.includes(w.path));
  if (unreadable.length > 0) {
    throw new CliError(CliErrorCode.NotFound, unreadable.map((w) => w.message).join("\n"), { fix: "Pass folders that exist: --skills DIR (a skill folder, or a folder of them)." });
  }
  for (const w of warnings) ctx.stderr.write(`warning: ${w.message}\n`);

  const backbone = await openCliBackbone(ctx, `vibewriter-submit-${process.pid}`, { role: NatsRole.Runtime });
  const queue = await RunQueue.open(backbone, { replicas: backbone.replicas });
  await queueThread(
    backbone,
    {
      threadId,
      task: plan.task,
      sources,
      skills,
      allowNetwork: plan.allowNetwork,
      ...(plan.maxModelCalls ? { maxModelCalls: plan.maxModelCalls } : {}),
      ...(plan.maxTokens ? { maxTokens: plan.maxTokens } : {}),
      by: "submit",
    },
  );
  const depth = await queue.depth().catch(() => undefined);
  if (plan.json) {
    printJson(ctx, { threadId, status: "queued", sources: sources.length, skills: skills.map((s) => s.name), ...(depth !== undefined ? { queueDepth: depth } : {}) });
  } else {
    ctx.stdout.write(`${threadId}\n`);
    ctx.stderr.write(
      `queued thread ${threadId}${sources.length ? ` with ${sources.length} source(s)` : ""}${skills.length ? `, skills ${skills.map((s) => s.name).join(", ")}` : ""}` +
        `${depth !== undefined ? ` (${depth} in the queue)` : ""}; follow it: vibewriter events ${threadId} --follow\n`,
    );
  }
  return 0;
}
