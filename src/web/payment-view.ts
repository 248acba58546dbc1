/**
 * Payments as the console shows them: public facts of each proposal (amount, asset, destination,
 * the policy's reason, the owner's decision, the transaction hash), never its envelopes; and the
 * money each thread has spent.
 */
import { formatAmount, parseAmount, type PaymentRecord, PaymentStatus } from "../wallet/index.ts";
import type { ConsolePayment, ThreadCost } from "./api-types.ts";

export function paymentView(r: PaymentRecord): ConsolePayment {
  return {
    id: r.id,
    ...(r.requestedBy ? { threadId: r.requestedBy } : {}),
    status: r.status,
    amount: r.amount ?? r.requested.amount,
    asset: r.asset ?? r.requested.asset,
    destination: r.destination ?? r.requested.destination,
    ...((r.memo ?? r.requested.memo) ? { memo: r.memo ?? r.requested.memo } : {}),
    ...(r.refusal ? { reason: r.refusal.reason } : r.decision?.reason ? { reason: r.decision.reason } : {}),
    ...(r.reason ? { purpose: r.reason } : {}),
    requestedAt: r.createdAt,
    ...(r.ownerDecision ? { decidedBy: r.ownerDecision.by, decidedAt: r.ownerDecision.at } : {}),
    ...(r.txHash ? { txHash: r.txHash } : {}),
  };
}

/** What a thread paid (submitted payments), summed per asset; unparsable amounts are left out. */
export function paidByThread(records: readonly PaymentRecord[]): Map<string, ThreadCost["paid"]> {
  const sums = new Map<string, Map<string, bigint>>();
  for (const r of records) {
    if (r.status !== PaymentStatus.Submitted || !r.requestedBy || !r.amount || !r.asset) continue;
    let stroops: bigint;
    try {
      stroops = parseAmount(r.amount);
    } catch {
      continue;
    }
    const perAsset = sums.get(r.requestedBy) ?? new Map<string, bigint>();
    perAsset.set(r.asset, (perAsset.get(r.asset) ?? 0n) + stroops);
    sums.set(r.requestedBy, perAsset);
  }
  return new Map([...sums].map(([thread, perAsset]) => [thread, [...perAsset].map(([asset, s]) => ({ asset, amount: formatAmount(s) }))]));
}

/** Payments waiting for the owner, counted per thread. */
export function waitingByThread(records: readonly PaymentRecord[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of records) if (r.status === PaymentStatus.PendingApproval && r.requestedBy) out.set(r.requestedBy, (out.get(r.requestedBy) ?? 0) + 1);
  return out;
}
