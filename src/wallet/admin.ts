/**
 * What the `vibewriter` command calls: plain functions over the wallet, one per owner action.
 * None of them returns or prints a secret; all take the NATS handles or the environment they need.
 */
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { formatAmount } from "./amount.ts";
import { WalletError, WalletErrorCode } from "./errors.ts";
import { Keystore, WalletEnv, type KeyInfo } from "./keystore.ts";
import { AuditLedger, type LedgerOptions, type LedgerVerification } from "./ledger.ts";
import type { OwnerKey } from "./owner-key.ts";
import { PaymentStatus, type PaymentRecord } from "./payment-record.ts";
import { loadPolicyFile, type SpendingPolicy } from "./policy.ts";
import type { Secret } from "./secret.ts";
import { Wallet } from "./wallet.ts";

type Nats = { js: JetStreamClient; jsm: JetStreamManager };

/** `vibewriter wallet create [NAME]`: a new random Stellar key, encrypted at rest. Fails closed without an unlock key. */
export async function createWalletKey(env: NodeJS.ProcessEnv, name = "default"): Promise<KeyInfo> {
  return (await Keystore.open({ env })).create(name);
}

/** `vibewriter wallet import NAME` (seed read from stdin by the CLI, never from argv). */
export async function importWalletKey(env: NodeJS.ProcessEnv, name: string, seed: Secret<string>): Promise<KeyInfo> {
  return (await Keystore.open({ env })).import(name, seed);
}

export interface WalletStatus {
  /** No unlock key in the environment (the wallet will not sign). */
  locked: boolean;
  keys: KeyInfo[];
  policyPath: string;
  policy?: string;
  /** What is wrong, in words the owner can act on. */
  problems: string[];
}

/** `vibewriter wallet show` / `doctor`: what the wallet can do, public facts only. */
export async function walletStatus(env: NodeJS.ProcessEnv, policyPath: string): Promise<WalletStatus> {
  const problems: string[] = [];
  let keys: KeyInfo[] = [];
  const locked = !env[WalletEnv.Passphrase] && !env[WalletEnv.MasterKey];
  if (locked) problems.push(`the wallet is locked: set ${WalletEnv.Passphrase} or ${WalletEnv.MasterKey}`);
  else {
    try {
      keys = (await Keystore.open({ env })).list();
      if (keys.length === 0) problems.push("the keystore holds no key: run `vibewriter wallet create`");
    } catch (e) {
      problems.push(WalletError.isInstance(e) ? e.message : "cannot open the keystore");
    }
  }
  let policy: string | undefined;
  try {
    policy = describePolicy(await loadPolicyFile(policyPath));
  } catch (e) {
    problems.push(`${WalletError.isInstance(e) ? e.message : "cannot read the policy"} (without a policy every payment is denied)`);
  }
  return { locked, keys, policyPath, policy, problems };
}

/** One line per rule, for people. */
export function describePolicy(p: SpendingPolicy): string {
  const lines = [`delegation expires ${p.expiresAt.toISOString()}`, `${p.destinations.size} allowlisted destination(s)`];
  for (const [asset, l] of p.assets) {
    lines.push(
      `${asset}: ≤ ${formatAmount(l.perTransaction)} per payment, ≤ ${formatAmount(l.window.amount)} per ${l.window.ms / 3_600_000} h` +
        (l.approvalAbove === undefined ? "" : `, owner approves above ${formatAmount(l.approvalAbove)}`),
    );
  }
  return lines.join("\n");
}

/** What the owner decides with: their unlocked key and the policy they decide under. */
export interface OwnerAuthority {
  ownerKey: OwnerKey;
  policy: SpendingPolicy;
  ledger?: LedgerOptions;
}

/** `vibewriter approve ID`: the owner's signed mandate (KV `VIBEWRITER_MANDATES` + ledger). */
export async function approvePayment(nats: Nats, id: string, by: string, owner: OwnerAuthority, note?: string): Promise<PaymentRecord> {
  return (await openOwnerWallet(nats, owner)).approve(id, by, note);
}

/** `vibewriter reject ID`: the owner's signed rejection; frees the reserved amount. */
export async function rejectPayment(nats: Nats, id: string, by: string, owner: OwnerAuthority, note?: string): Promise<PaymentRecord> {
  return (await openOwnerWallet(nats, owner)).reject(id, by, note);
}

function openOwnerWallet(nats: Nats, owner: OwnerAuthority): Promise<Wallet> {
  return Wallet.open({ nats, policy: owner.policy, ownerKey: owner.ownerKey, ownerPublicKey: owner.ownerKey.publicKey, ledger: owner.ledger });
}

/** `vibewriter payments [--pending]`. */
export async function listPayments(nats: Nats, status?: PaymentRecord["status"]): Promise<PaymentRecord[]> {
  return (await Wallet.open({ nats, policy: undefined })).list(status);
}

export const pendingPayments = (nats: Nats) => listPayments(nats, PaymentStatus.PendingApproval);

/** `vibewriter ledger verify`. */
export async function verifyLedger(nats: Nats, opts: LedgerOptions = {}): Promise<LedgerVerification> {
  return (await AuditLedger.open(nats, opts)).verify();
}

export { WalletErrorCode };
