/**
 * A mandate is the owner's decision on one payment, signed with the owner's key and bound to the
 * exact payment: id, destination, asset, amount, memo, the policy version it was decided under and
 * an expiry. The wallet signs a payment above the approval threshold only against a mandate whose
 * every field matches the transaction it is about to sign. Stored in KV `VIBEWRITER_MANDATES`
 * (`m.<payment id>`, writable by the owner identity only) and copied into the ledger.
 */
import { formatAmount, parseAmount } from "./amount.ts";
import { canonicalJson, type JsonValue } from "./canonical-json.ts";
import { WalletError, WalletErrorCode } from "./errors.ts";
import type { LedgerEntry } from "./ledger.ts";
import { verifyByNkey } from "../nats/index.ts";
import type { OwnerKey } from "./owner-key.ts";
import type { DecodedPayment } from "./stellar.ts";

export const MandateDecision = { Approve: "approve", Reject: "reject" } as const;
export type MandateDecision = (typeof MandateDecision)[keyof typeof MandateDecision];

/** What a payment is, as the wallet will sign it. */
export interface PaymentTerms {
  paymentId: string;
  destination: string;
  asset: string;
  /** Decimal string as `formatAmount` writes it. */
  amount: string;
  memo: string | null;
}

export interface Mandate extends PaymentTerms {
  v: 1;
  decision: MandateDecision;
  /** `policyVersion()` of the policy the owner decided under. */
  policyVersion: string;
  issuedAt: string;
  /** After this, the mandate no longer lets anything be signed. */
  expiresAt: string;
  /** The owner's public key (`U…`). */
  owner: string;
  note: string | null;
}

export interface SignedMandate {
  mandate: Mandate;
  /** base64 ed25519 signature over `mandateBytes(mandate)`. */
  signature: string;
}

/** Domain-separated: a mandate signature can never be mistaken for any other signed thing. */
export function mandateBytes(m: Mandate): Uint8Array {
  return new TextEncoder().encode(`vibewriter-mandate-v1\n${canonicalJson(m as never)}`);
}

export function signMandate(m: Mandate, key: OwnerKey): SignedMandate {
  if (m.owner !== key.publicKey) throw new WalletError(WalletErrorCode.MandateInvalid, "a mandate names the key that signs it");
  return { mandate: m, signature: Buffer.from(key.sign(mandateBytes(m))).toString("base64") };
}

const TERMS = ["paymentId", "destination", "asset", "amount", "memo"] as const;

/**
 * Checks a stored mandate: well formed, signed by `ownerPublicKey`, for `paymentId`. Returns the
 * mandate, or throws `mandate_invalid` saying what is wrong. Terms, policy version and expiry are
 * the caller's to compare (they depend on what is being signed, and when).
 */
export function verifyMandate(value: unknown, ownerPublicKey: string, paymentId: string): Mandate {
  const fail = (why: string) => new WalletError(WalletErrorCode.MandateInvalid, `mandate for ${paymentId}: ${why}`);
  if (!value || typeof value !== "object") throw fail("not a mandate");
  const { mandate: m, signature } = value as Partial<SignedMandate>;
  if (!m || typeof m !== "object" || typeof signature !== "string") throw fail("not a mandate");
  const strings = [...TERMS.filter((k) => k !== "memo"), "decision", "policyVersion", "issuedAt", "expiresAt", "owner"] as const;
  if (m.v !== 1 || strings.some((k) => typeof m[k] !== "string") || (m.memo !== null && typeof m.memo !== "string") || (m.note !== null && typeof m.note !== "string")) {
    throw fail("malformed");
  }
  if (m.decision !== MandateDecision.Approve && m.decision !== MandateDecision.Reject) throw fail("unknown decision");
  if (m.owner !== ownerPublicKey) throw fail(`signed by ${m.owner}, not by the owner`);
  let ok = false;
  try {
    ok = verifyByNkey(ownerPublicKey, mandateBytes(m), Buffer.from(signature, "base64"));
  } catch {
    ok = false;
  }
  if (!ok) throw fail("the owner's signature does not verify");
  if (m.paymentId !== paymentId) throw fail(`it is the mandate of payment ${m.paymentId}`);
  if (Number.isNaN(Date.parse(m.expiresAt)) || Number.isNaN(Date.parse(m.issuedAt))) throw fail("malformed times");
  return m;
}

/** The terms a ledgered `decision` entry recorded for payment `id`. */
export function termsOfDecision(id: string, e: LedgerEntry): PaymentTerms {
  const str = (v: JsonValue | undefined) => (typeof v === "string" ? v : "");
  return { paymentId: id, destination: str(e.data.destination), asset: str(e.data.asset), amount: str(e.data.amount), memo: typeof e.data.memo === "string" ? e.data.memo : null };
}

/** The terms of a decoded payment transaction (amounts normalised as the wallet writes them). */
export function termsOfPayment(id: string, d: DecodedPayment): PaymentTerms {
  return { paymentId: id, destination: d.destination, asset: d.asset, amount: formatAmount(parseAmount(d.amount)), memo: d.memo ?? null };
}

/** The fields where `terms` and the mandate differ (empty: they agree). */
export function termsMismatch(m: PaymentTerms, terms: PaymentTerms): string[] {
  return TERMS.filter((k) => (m[k] ?? null) !== (terms[k] ?? null));
}
