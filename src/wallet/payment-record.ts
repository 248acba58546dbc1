import type { PolicyRule } from "./policy.ts";

/** Proposal (payment) ids: KV-key safe and short. The CLI and the console check them with this too. */
export const PROPOSAL_ID = /^[A-Za-z0-9_-]{1,128}$/;
/** `PROPOSAL_ID` in words, for error messages. */
export const PROPOSAL_ID_RULE = "letters, digits, _ and - (1 to 128 characters)";

/** Where a proposal stands. Only `approved` → `signing` → `signed` → `submitted` moves money. */
export const PaymentStatus = {
  /** Claimed id, decision not yet recorded (a crash here is finished by replaying the proposal). */
  Proposed: "proposed",
  Denied: "denied",
  PendingApproval: "pending_approval",
  Approved: "approved",
  Rejected: "rejected",
  /** The exact unsigned transaction is recorded; the signer may have run. */
  Signing: "signing",
  Signed: "signed",
  Submitted: "submitted",
  SubmitFailed: "submit_failed",
  /** What was about to be signed disagreed with the mandate, the ledger or the policy; see `refusal`. */
  Refused: "refused",
} as const;
export type PaymentStatus = (typeof PaymentStatus)[keyof typeof PaymentStatus];

/** Statuses whose amount counts against the rolling window. */
export const COMMITTED_STATUSES: readonly PaymentStatus[] = [
  PaymentStatus.Proposed,
  PaymentStatus.PendingApproval,
  PaymentStatus.Approved,
  PaymentStatus.Signing,
  PaymentStatus.Signed,
  PaymentStatus.Submitted,
];

/** The stored state of one proposal (KV `p.<id>`). Amounts are decimal strings; no secrets. */
export interface PaymentRecord {
  id: string;
  status: PaymentStatus;
  /** As the model sent them, truncated; for the record, never used to pay. */
  requested: { destination: string; asset: string; amount: string; memo: string };
  /** Parsed values, present when the request passed the strict parsers. */
  destination?: string;
  asset?: string;
  amount?: string;
  memo?: string;
  reason?: string;
  requestedBy: string;
  createdAt: string;
  decision?: { outcome: "allow" | "deny" | "needs-approval"; rule?: PolicyRule; reason?: string; at: string };
  /** Set by the owner through `approvePayment` / `rejectPayment` only. */
  ownerDecision?: { approved: boolean; by: string; at: string; note?: string };
  /** Base64 XDR of the unsigned transaction, fixed before signing so a retry signs the same bytes. */
  unsignedXdr?: string;
  envelopeXdr?: string;
  txHash?: string;
  submission?: { at: string; ledger?: number; error?: string };
  /** Why signing was refused (tamper detected); the ledger holds the same as a `tamper` entry. */
  refusal?: { reason: string; at: string };
  /** Ledger entry types already appended for this proposal (lets recovery avoid duplicates). */
  ledgered: string[];
}

/** Fields that make two proposals "the same": a replay with any of them changed is refused. */
export function proposalFingerprint(r: Pick<PaymentRecord, "requested">): string {
  const q = r.requested;
  return JSON.stringify([q.destination, q.asset, q.amount, q.memo]);
}
