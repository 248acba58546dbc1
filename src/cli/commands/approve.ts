/**
 * `vibewriter approve ID` / `vibewriter reject ID`: the owner's decision on a payment proposal
 * waiting for approval. Recorded by the wallet in NATS and the audit ledger; the CLI holds no key
 * (an approvals-only wallet) and never prints one.
 */
import { userInfo } from "node:os";
import { WalletError, WalletErrorCode } from "../../wallet/errors.ts";
import { PaymentStatus, type PaymentRecord } from "../../wallet/payment-record.ts";
import { Wallet } from "../../wallet/wallet.ts";
import { stateDir } from "../../config/paths.ts";
import { NatsRole } from "../../nats/auth.ts";
import { OwnerEnv, unlockOwnerKey } from "../../wallet/owner-key.ts";
import { loadPolicyFile } from "../../wallet/policy.ts";
import { openCliBackbone } from "../backbone.ts";
import { requeueAfterDecision } from "../../agent/queue-thread.ts";
import { ownerLedger, loadTrust } from "../trust.ts";
import { policyPathFor } from "../wallet.ts";
import { CliError, CliErrorCode } from "../errors.ts";
import { printJson, type CliContext } from "../context.ts";
import type { CommandPlan } from "../plan.ts";

type DecisionPlan = Extract<CommandPlan, { command: "approve" } | { command: "reject" }>;

function owner(env: NodeJS.ProcessEnv): string {
  let name = env.USER || env.LOGNAME || "";
  if (!name) {
    try {
      name = userInfo().username;
    } catch {
      name = "unknown";
    }
  }
  return `cli:${name}`;
}

export async function runDecision(plan: DecisionPlan, ctx: CliContext): Promise<number> {
  // Only the owner decides: their key signs the mandate and is their identity on NATS.
  const state = stateDir(ctx.env);
  let ownerKey;
  try {
    ownerKey = await unlockOwnerKey(state, ctx.env);
  } catch (e) {
    if (WalletError.isInstance(e) && e.code === WalletErrorCode.OwnerLocked) {
      throw new CliError(CliErrorCode.Failed, e.message, { cause: e, fix: `set ${OwnerEnv.Passphrase} (the owner's passphrase); first time: vibewriter owner init` });
    }
    throw e;
  }
  const policy = await loadPolicyFile(policyPathFor(ctx.env));
  const backbone = await openCliBackbone(ctx, "vibewriter-owner", { role: NatsRole.Owner, ownerSeed: ownerKey.natsSeed() });
  const trust = await loadTrust(ctx.env);
  const wallet = await Wallet.open({ nats: backbone, policy, ownerKey, ownerPublicKey: ownerKey.publicKey, ledger: ownerLedger(ctx.env, trust, ownerKey) });
  const approve = plan.command === "approve";
  let record: PaymentRecord;
  try {
    record = approve
      ? await wallet.approve(plan.id, owner(ctx.env))
      : await wallet.reject(plan.id, owner(ctx.env), plan.command === "reject" ? plan.reason : undefined);
  } catch (e) {
    throw await explain(e, wallet);
  }
  const thread = record.requestedBy;
  // A thread that ran from the queue paused without holding a worker: the decision queues its resume.
  const requeued = thread ? await requeueAfterDecision(backbone, thread, owner(ctx.env)) : false;
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

/** Turns the wallet's "not found"/"not pending" into a user error that lists what is waiting. */
async function explain(e: unknown, wallet: Wallet): Promise<unknown> {
  if (!WalletError.isInstance(e)) return e;
  if (e.code !== WalletErrorCode.ProposalNotFound && e.code !== WalletErrorCode.NotPending) return e;
  const pending = await wallet.list(PaymentStatus.PendingApproval).catch(() => []);
  const fix =
    pending.length === 0
      ? "No payment is waiting for approval."
      : `Waiting for approval: ${pending.map((p) => `${p.id} (${p.amount ?? p.requested.amount} ${p.asset ?? p.requested.asset})`).join(", ")}`;
  const code = e.code === WalletErrorCode.ProposalNotFound ? CliErrorCode.NotFound : CliErrorCode.Failed;
  return new CliError(code, e.message, { cause: e, fix });
}
