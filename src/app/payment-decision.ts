/**
 * The owner's decision on a payment waiting for approval, as one path for `vibewriter approve` /
 * `reject` and the console (`vibewriter web`): unlock the owner's key, open the wallet with the
 * owner's ledger, approve or reject (a mandate signed by the owner's key, recorded in NATS and the
 * audit ledger), then re-queue a thread that ran from the queue. No key leaves this module's
 * objects: callers get records and public facts.
 */
import { userInfo } from "node:os";
import { requeueAfterDecision } from "../agent/index.ts";
import { stateDir } from "../config/index.ts";
import type { Backbone } from "../nats/index.ts";
import { loadPolicyFile, OwnerEnv, type OwnerKey, type PaymentRecord, PaymentStatus, unlockOwnerKey, Wallet, WalletError, WalletErrorCode } from "../wallet/index.ts";
import { AppError, AppErrorCode } from "./errors.ts";
import { loadTrust, ownerLedger } from "./trust.ts";
import { policyPathFor } from "./run-wallet.ts";

/** Who decided, as the ledger records it: `cli:<user>` (the console adds its own prefix). */
export function ownerName(env: NodeJS.ProcessEnv): string {
  let name = env.USER || env.LOGNAME || "";
  if (!name) {
    try {
      name = userInfo().username;
    } catch {
      name = "unknown";
    }
  }
  return name;
}

/** The owner's key, unlocked with VIBEWRITER_OWNER_PASSPHRASE; a locked key is an error naming the fix. */
export async function unlockOwner(env: NodeJS.ProcessEnv): Promise<OwnerKey> {
  try {
    return await unlockOwnerKey(stateDir(env), env);
  } catch (e) {
    if (WalletError.isInstance(e, WalletErrorCode.OwnerLocked)) {
      throw new AppError(AppErrorCode.OwnerLocked, e.message, { cause: e, fix: `set ${OwnerEnv.Passphrase} (the owner's passphrase); first time: vibewriter owner init` });
    }
    throw e;
  }
}

/** The wallet as the owner opens it: their policy, their key for mandates, their ledger signer. */
export async function openOwnerWallet(env: NodeJS.ProcessEnv, backbone: Backbone, ownerKey: OwnerKey): Promise<Wallet> {
  const policy = await loadPolicyFile(policyPathFor(env));
  const trust = await loadTrust(env);
  return Wallet.open({ nats: backbone, policy, ownerKey, ownerPublicKey: ownerKey.publicKey, ledger: ownerLedger(env, trust, ownerKey) });
}

export type PaymentDecision = { approve: true } | { approve: false; reason?: string };

export interface DecisionOutcome {
  record: PaymentRecord;
  /** The thread that asked for the payment. */
  thread?: string;
  /** The decision put the thread's resume on the run queue (it ran from the queue). */
  requeued: boolean;
}

/**
 * Approves or rejects proposal `id` as `by`. An unknown or already decided id is an `AppError`
 * (`not_found` / `not_pending`) whose fix lists what is waiting.
 */
export async function decidePayment(wallet: Wallet, backbone: Backbone, id: string, decision: PaymentDecision, by: string): Promise<DecisionOutcome> {
  let record: PaymentRecord;
  try {
    record = decision.approve ? await wallet.approve(id, by) : await wallet.reject(id, by, decision.reason);
  } catch (e) {
    throw await explain(e, wallet);
  }
  const thread = record.requestedBy || undefined;
  // A thread that ran from the queue paused without holding a worker: the decision queues its resume.
  const requeued = thread ? await requeueAfterDecision(backbone, thread, by) : false;
  return { record, ...(thread ? { thread } : {}), requeued };
}

/** Turns the wallet's "not found"/"not pending" into the owner's error that lists what is waiting. */
async function explain(e: unknown, wallet: Wallet): Promise<unknown> {
  if (!WalletError.isInstance(e)) return e;
  if (e.code !== WalletErrorCode.ProposalNotFound && e.code !== WalletErrorCode.NotPending) return e;
  const pending = await wallet.list(PaymentStatus.PendingApproval).catch(() => []);
  const fix =
    pending.length === 0
      ? "No payment is waiting for approval."
      : `Waiting for approval: ${pending.map((p) => `${p.id} (${p.amount ?? p.requested.amount} ${p.asset ?? p.requested.asset})`).join(", ")}`;
  const code = e.code === WalletErrorCode.ProposalNotFound ? AppErrorCode.NotFound : AppErrorCode.NotPending;
  return new AppError(code, e.message, { cause: e, fix });
}
