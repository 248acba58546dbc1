/**
 * What the ledger's entries must mean, beyond their chain: every signing and signature of a
 * payment follows a decision for the same transaction — a policy `allow`, or a `needs-approval`
 * with the owner's approval carrying a mandate signed by the owner for exactly those terms — and
 * one payment is never signed as two different transactions.
 */
import type { JsonValue } from "./canonical-json.ts";
import { LedgerEntryType, LedgerProblemKind, type LedgerEntry, type LedgerProblem } from "./ledger.ts";
import { MandateDecision, termsMismatch, termsOfDecision, termsOfPayment, verifyMandate, type PaymentTerms } from "./mandate.ts";
import { decodePaymentEnvelope } from "./stellar.ts";

export interface MeaningOptions {
  /** The owner's public key; without it no approval can be checked (each is reported). */
  ownerPublicKey?: string;
  networkPassphrase: string;
}

const str = (v: JsonValue | undefined) => (typeof v === "string" ? v : "");

export function checkLedgerMeaning(entries: readonly LedgerEntry[], opts: MeaningOptions): LedgerProblem[] {
  const problems: LedgerProblem[] = [];
  const byProposal = new Map<string, LedgerEntry[]>();
  for (const e of entries) {
    const list = byProposal.get(e.proposalId) ?? [];
    list.push(e);
    byProposal.set(e.proposalId, list);
  }
  const flag = (e: LedgerEntry, detail: string) => problems.push({ kind: LedgerProblemKind.Unauthorized, seq: e.index, detail: `entry ${e.index} (${e.type} of ${e.proposalId}): ${detail}` });
  for (const [id, list] of byProposal) {
    const decision = list.find((e) => e.type === LedgerEntryType.Decision);
    const terms: PaymentTerms | undefined = decision && termsOfDecision(id, decision);
    let approved = false;
    for (const e of list) {
      if (e.type === LedgerEntryType.Approval || e.type === LedgerEntryType.Rejection) {
        if (!terms || decision!.index > e.index) {
          flag(e, "follows no decision");
          continue;
        }
        try {
          if (!opts.ownerPublicKey) throw new Error("no owner public key is configured to check it");
          const m = verifyMandate(e.data.mandate, opts.ownerPublicKey, id);
          const off = termsMismatch(m, terms);
          if (off.length) throw new Error(`the mandate's ${off.join(", ")} differ from the decision`);
          if ((m.decision === MandateDecision.Approve) !== (e.type === LedgerEntryType.Approval)) throw new Error("the mandate says the opposite");
          if (e.type === LedgerEntryType.Approval) approved = true;
        } catch (err) {
          flag(e, `carries no valid owner mandate: ${(err as Error).message}`);
        }
      }
    }
    const hashes = new Set<string>();
    for (const e of list) {
      if (e.type !== LedgerEntryType.SigningIntent && e.type !== LedgerEntryType.Signature) continue;
      hashes.add(str(e.data.txHash));
      if (!terms || decision!.index > e.index) {
        flag(e, "follows no decision");
        continue;
      }
      const outcome = decision!.data.outcome;
      if (outcome !== "allow" && !(outcome === "needs-approval" && approved)) {
        flag(e, outcome === "needs-approval" ? "follows no owner approval" : `follows a "${String(outcome)}" decision`);
        continue;
      }
      const xdr = str(e.type === LedgerEntryType.Signature ? e.data.envelopeXdr : e.data.unsignedXdr);
      if (!xdr) continue; // signing intents of older versions carried only the hash
      try {
        const d = decodePaymentEnvelope(xdr, opts.networkPassphrase as never);
        const off = termsMismatch(terms, termsOfPayment(id, d));
        if (off.length) flag(e, `the signed transaction's ${off.join(", ")} differ from the decision`);
        if (d.hash !== str(e.data.txHash)) flag(e, "the transaction does not have the recorded hash");
      } catch {
        flag(e, "the recorded transaction does not decode as one payment");
      }
    }
    if (hashes.size > 1) flag(list.find((e) => e.type === LedgerEntryType.SigningIntent || e.type === LedgerEntryType.Signature)!, `${hashes.size} different transactions were signed for one payment`);
  }
  return problems;
}
