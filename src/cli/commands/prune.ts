/**
 * `vibewriter prune [--older-than AGE] [--dry-run]`: retention for finished threads
 * (src/nats/retention.ts): compact each to its latest checkpoint, expire those older than the age.
 * Runs as the runtime identity (it deletes); never touches the ledger, payments or mandates.
 */
import { listThreads } from "../../agent/index.ts";
import { applyRetention, type Backbone, kvStreamName, Names, NatsRole, objectStoreStreamName, planRetention, type RetentionPlan, retentionPolicy } from "../../nats/index.ts";
import { openCliBackbone } from "../backbone.ts";
import { printJson, type CliContext } from "../context.ts";
import { usageError } from "../errors.ts";
import type { CommandPlan } from "../plan.ts";

export async function runPrune(plan: Extract<CommandPlan, { command: "prune" }>, ctx: CliContext): Promise<number> {
  let policy;
  try {
    policy = retentionPolicy(ctx.env, plan.olderThan);
  } catch (e) {
    throw usageError((e as Error).message, "prune");
  }
  const backbone = await openCliBackbone(ctx, `vibewriter-prune-${process.pid}`, { role: NatsRole.Runtime });
  const threads = await listThreads(backbone);
  const todo = planRetention(threads, policy);
  const before = await storedBytes(backbone);
  const result = plan.dryRun ? undefined : await applyRetention(backbone, todo);
  const after = plan.dryRun ? before : await storedBytes(backbone);
  if (plan.json) {
    printJson(ctx, { ok: true, dryRun: plan.dryRun, expireAfterSec: policy.expireAfterMs === undefined ? null : policy.expireAfterMs / 1000, ...todo, ...(result ? { compacted: result.compacted } : {}), bytesBefore: before, bytesAfter: after });
    return 0;
  }
  ctx.stdout.write(render(todo, plan.dryRun, result?.compacted));
  ctx.stdout.write(`Finished threads expire ${policy.expireAfterMs === undefined ? "never" : `${formatAge(policy.expireAfterMs)} after their last event`}. `);
  ctx.stdout.write(plan.dryRun ? "Dry run: nothing was changed.\n" : `Stored: ${mib(before)} → ${mib(after)}.\n`);
  return 0;
}

function render(p: RetentionPlan, dryRun: boolean, compacted?: Record<string, number>): string {
  const lines: string[] = [];
  const verb = (done: string, will: string) => (dryRun ? will : done);
  for (const id of p.expire) lines.push(`${verb("expired", "would expire")}  ${id}`);
  for (const id of p.compact) {
    const n = compacted?.[id];
    lines.push(`${verb("compacted", "would compact")}  ${id}${n === undefined ? "" : n === 0 ? " (already compact)" : ` (${n} older checkpoints dropped)`}`);
  }
  for (const id of p.kept) lines.push(`kept  ${id} (running or waiting for the owner)`);
  if (lines.length === 0) lines.push("No threads.");
  return lines.join("\n") + "\n";
}

/** Bytes held by what retention shrinks: checkpoints, events and files. */
async function storedBytes(b: Backbone): Promise<number> {
  let total = 0;
  for (const stream of [Names.stateStream, Names.eventsStream, objectStoreStreamName(Names.filesBucket), kvStreamName(Names.memoryBucket)]) {
    total += (await b.jsm.streams.info(stream).catch(() => undefined))?.state.bytes ?? 0;
  }
  return total;
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(2)} MiB`;
}

function formatAge(ms: number): string {
  if (ms === 0) return "0s";
  for (const [unit, size] of [["w", 604_800_000], ["d", 86_400_000], ["h", 3_600_000], ["m", 60_000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms / 1000}s`;
}
