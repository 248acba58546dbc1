/**
 * `vibewriter approve ID` / `vibewriter reject ID`: the owner's decision on a payment proposal
 * waiting for approval (see app/payment-decision.ts, shared with the console). Recorded by the
 * wallet in NATS and the audit ledger; the CLI holds no Stellar key and never prints one.
 */
import { NatsRole } from "../../nats/index.ts";
import { openCliBackbone } from "../backbone.ts";
import { decidePayment, openOwnerWallet, ownerName, unlockOwner } from "../../app/index.ts";
import { printJson, type CliContext } from "../context.ts";
import type { CommandPlan } from "../plan.ts";

type DecisionPlan = Extract<CommandPlan, { command: "approve" } | { command: "reject" }>;

export async function runDecision(plan: DecisionPlan, ctx: CliContext): Promise<number> {
  // Only the owner decides: their key signs the mandate and is their identity on NATS.
  const ownerKey = await unlockOwner(ctx.env);
  const backbone = await openCliBackbone(ctx, "vibewriter-owner", { role: NatsRole.Owner, ownerSeed: ownerKey.natsSeed() });
  const wallet = await openOwnerWallet(ctx.env, backbone, ownerKey);
  const approve = plan.command === "approve";
  const by = `cli:${ownerName(ctx.env)}`;
  const { record, thread, requeued } = await decidePayment(
    wallet,
    backbone,
    plan.id,
    approve ? { approve: true } : { approve: false, reason: plan.command === "reject" ? plan.reason : undefined },
    by,
  );
  if (plan.json) {
    printJson(ctx, { ok: true, id: record.id, status: record.status, thread, ...(requeued ? { requeued: true } : {}) });
  } else {
    ctx.stdout.write(
      `${approve ? "Approved" : "Rejected"} payment ${record.id}: ${record.amount ?? record.requested.amount} ${record.asset ?? record.requested.asset} to ${record.destination ?? record.requested.destination}.\n` +
        (requeued
          ? `Thread ${thread} is queued again: a worker resumes it (vibewriter events ${thread} --follow).\n`
          : `The run continues; if it is not running any more: vibewriter resume ${thread}\n`),
    );
  }
  return 0;
}
