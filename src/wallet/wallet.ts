import { Kvm, type KV } from "@nats-io/kv";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { TransactionBuilder, type Transaction } from "@stellar/stellar-sdk";
import type { StellarAddress } from "./address.ts";
import { formatAmount, parseAmount } from "./amount.ts";
import { WalletError, WalletErrorCode } from "./errors.ts";
import type { JsonValue } from "./canonical-json.ts";
import { AuditLedger, LedgerEntryType, type LedgerOptions } from "./ledger.ts";
import { parseMemo } from "./memo.ts";
import { PaymentStatus, proposalFingerprint, type PaymentRecord } from "./payment-record.ts";
import { evaluatePolicy, parsePaymentRequest, PolicyRule, type PolicyDecision, type SpendingPolicy } from "./policy.ts";
import type { Signer } from "./signer.ts";
import { isCasConflict, SpendWindow } from "./spend-window.ts";
import { buildPaymentTransaction, DEFAULT_NETWORK_PASSPHRASE, loadSequence, submitEnvelope, type StellarNetwork } from "./stellar.ts";

export const PAYMENTS_BUCKET = "VIBEWRITER_PAYMENTS";
/** Proposal ids are KV-key safe and short. */
const PROPOSAL_ID = /^[A-Za-z0-9_-]{1,128}$/;

export interface WalletOptions {
  nats: { js: JetStreamClient; jsm: JetStreamManager };
  /** The owner's policy; `undefined` = deny everything. */
  policy: SpendingPolicy | undefined;
  /** Needed to sign; an approvals-only process (the CLI) can omit it. */
  signer?: Signer;
  network?: Partial<StellarNetwork> & {
    /** Without Horizon, sequence numbers are counted locally from this value (default "0"). */
    startSequence?: string;
  };
  clock?: () => Date;
  ledger?: LedgerOptions;
  bucket?: string;
  /** Test hooks that simulate a crash at the named point by throwing. */
  faults?: { afterDecisionStored?: () => void; afterSign?: () => void; afterRecordSignature?: () => void };
}

export interface ProposeInput {
  /** Stable id: the same id never pays twice. The tool derives it from thread + tool call id. */
  id: string;
  destination: unknown;
  asset: unknown;
  amount: unknown;
  memo?: unknown;
  reason?: unknown;
  /** Who asked (the agent's thread, or "cli"). */
  requestedBy: string;
}

export interface ProposeResult {
  record: PaymentRecord;
  /** The verdict for this call (for an identical replay: the stored one). */
  decision: PolicyDecision;
  /** "identical": the id was already proposed with the same contents; "conflict": with others. */
  replay: "none" | "identical" | "conflict";
}

const text = (v: unknown, max: number): string => (typeof v === "string" ? v : v === undefined ? "" : JSON.stringify(v) ?? String(v)).slice(0, max);

/**
 * The financial delegate: every payment is proposed here, judged by the owner's policy, recorded
 * in the audit ledger, and signed at most once. State lives in NATS (KV bucket
 * `VIBEWRITER_PAYMENTS`, ledger stream `VIBEWRITER_LEDGER`), so any process — the agent, the CLI —
 * sees the same proposals.
 */
export class Wallet {
  readonly ledger: AuditLedger;
  readonly #kv: KV;
  readonly #window: SpendWindow;
  readonly #opts: WalletOptions;
  readonly #clock: () => Date;
  readonly #network: StellarNetwork;

  private constructor(opts: WalletOptions, kv: KV, ledger: AuditLedger) {
    this.#opts = opts;
    this.#kv = kv;
    this.ledger = ledger;
    this.#window = new SpendWindow(kv);
    this.#clock = opts.clock ?? (() => new Date());
    this.#network = { networkPassphrase: opts.network?.networkPassphrase ?? DEFAULT_NETWORK_PASSPHRASE, horizonUrl: opts.network?.horizonUrl };
  }

  static async open(opts: WalletOptions): Promise<Wallet> {
    let kv: KV;
    try {
      kv = await new Kvm(opts.nats.js).create(opts.bucket ?? PAYMENTS_BUCKET, { history: 10 });
    } catch (cause) {
      throw new WalletError(WalletErrorCode.Nats, `cannot open payments bucket ${opts.bucket ?? PAYMENTS_BUCKET}`, { cause });
    }
    const ledger = await AuditLedger.open(opts.nats, { clock: opts.clock, ...opts.ledger });
    return new Wallet(opts, kv, ledger);
  }

  get publicKey(): StellarAddress | undefined {
    return this.#opts.signer?.publicKey;
  }

  async get(id: string): Promise<PaymentRecord | undefined> {
    return (await this.#read(id))?.record;
  }

  /** All proposals, newest first; optionally only those in `status`. */
  async list(status?: PaymentRecord["status"]): Promise<PaymentRecord[]> {
    const out: PaymentRecord[] = [];
    for await (const key of await this.#kv.keys("p.>")) {
      const r = await this.get(key.slice(2));
      if (r && (!status || r.status === status)) out.push(r);
    }
    return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /**
   * Proposes a payment. Hostile or malformed input is denied (rule `invalid_input`) and recorded,
   * never repaired. The id is claimed atomically: a replay with the same contents returns the
   * existing proposal, a replay with different contents is refused and recorded.
   */
  async propose(input: ProposeInput): Promise<ProposeResult> {
    if (typeof input.id !== "string" || !PROPOSAL_ID.test(input.id)) {
      throw new WalletError(WalletErrorCode.InvalidProposal, `proposal id must match ${PROPOSAL_ID}`);
    }
    const now = this.#clock();
    const requested = {
      destination: text(input.destination, 80),
      asset: text(input.asset, 80),
      amount: text(input.amount, 40),
      memo: text(input.memo, 64),
    };
    const fresh: PaymentRecord = {
      id: input.id,
      status: PaymentStatus.Proposed,
      requested,
      reason: input.reason === undefined ? undefined : text(input.reason, 500),
      requestedBy: text(input.requestedBy, 120),
      createdAt: now.toISOString(),
      ledgered: [],
    };
    let record: PaymentRecord;
    try {
      await this.#kv.create(this.#key(input.id), JSON.stringify(fresh));
      record = fresh;
    } catch (e) {
      if (!isCasConflict(e)) throw new WalletError(WalletErrorCode.Nats, "cannot record proposal", { cause: e });
      const existing = (await this.#read(input.id))!;
      if (proposalFingerprint(existing.record) !== proposalFingerprint(fresh)) {
        const decision: PolicyDecision = {
          outcome: "deny",
          rule: PolicyRule.Replay,
          reason: `proposal id ${input.id} was already used for a different payment`,
        };
        await this.ledger.append(LedgerEntryType.ReplayRefused, input.id, { requested, existingStatus: existing.record.status });
        return { record: existing.record, decision, replay: "conflict" };
      }
      if (existing.record.status !== PaymentStatus.Proposed) {
        // A crash may have come between storing the decision and ledgering it.
        if (!existing.record.ledgered.includes(LedgerEntryType.Decision)) await this.#recordDecision(existing.record);
        return { record: (await this.get(input.id))!, decision: storedDecision(existing.record), replay: "identical" };
      }
      // A crash left it undecided: finish deciding now.
      record = existing.record;
    }
    await this.#ledgerOnce(input.id, LedgerEntryType.Proposal, { requested, requestedBy: record.requestedBy, reason: record.reason ?? null });

    let decision: PolicyDecision;
    let parsed: ReturnType<typeof parsePaymentRequest> | undefined;
    let memo: string | undefined;
    try {
      parsed = parsePaymentRequest(input);
      memo = parseMemo(input.memo);
    } catch (e) {
      parsed = undefined;
      decision = { outcome: "deny", rule: PolicyRule.InvalidInput, reason: WalletError.isInstance(e) ? e.message : "invalid payment request" };
    }
    if (parsed) {
      const req = parsed;
      const limits = this.#opts.policy?.assets.get(req.asset);
      decision = await this.#window.reserve(
        { id: input.id, asset: req.asset, stroops: req.amount, at: now.getTime(), windowMs: limits?.window.ms },
        (spent) => {
          const d = evaluatePolicy(this.#opts.policy, req, { now, windowSpent: spent });
          return { reserve: d.outcome !== "deny", result: d };
        },
      );
    }
    const status =
      decision!.outcome === "allow" ? PaymentStatus.Approved : decision!.outcome === "deny" ? PaymentStatus.Denied : PaymentStatus.PendingApproval;
    try {
      ({ record } = await this.#update(input.id, (r) => {
        // Two callers finishing the same undecided proposal: only the first decision stands.
        if (r.status !== PaymentStatus.Proposed) throw new RaceLost();
        return {
          ...r,
          status,
          destination: parsed?.destination,
          asset: parsed?.asset,
          amount: parsed ? formatAmount(parsed.amount) : undefined,
          memo,
          decision: { ...decision!, at: now.toISOString() } as PaymentRecord["decision"],
        };
      }));
    } catch (e) {
      if (!(e instanceof RaceLost)) throw e;
      const stored = (await this.#read(input.id))!.record;
      return { record: stored, decision: storedDecision(stored), replay: "identical" };
    }
    this.#opts.faults?.afterDecisionStored?.();
    await this.#recordDecision(record);
    return { record: (await this.get(input.id))!, decision: decision!, replay: "none" };
  }

  /**
   * The owner's approval (from `vibewriter approve ID`). Only this, recorded in KV and the ledger,
   * lets a payment above the threshold proceed; nothing the model writes (memo, reason, resume
   * value) counts.
   */
  async approve(id: string, by: string, note?: string): Promise<PaymentRecord> {
    return this.#ownerDecision(id, true, by, note);
  }

  /** The owner's rejection (from `vibewriter reject ID`); frees the reserved window amount. */
  async reject(id: string, by: string, note?: string): Promise<PaymentRecord> {
    const r = await this.#ownerDecision(id, false, by, note);
    await this.#window.release(id);
    return r;
  }

  async #ownerDecision(id: string, approved: boolean, by: string, note?: string): Promise<PaymentRecord> {
    const cur = await this.#read(id);
    if (!cur) throw new WalletError(WalletErrorCode.ProposalNotFound, `no payment proposal ${JSON.stringify(id)}`);
    if (cur.record.status !== PaymentStatus.PendingApproval) {
      throw new WalletError(WalletErrorCode.NotPending, `payment ${id} is ${cur.record.status}, not waiting for approval`);
    }
    const at = this.#clock().toISOString();
    const { record } = await this.#update(id, (r) => {
      if (r.status !== PaymentStatus.PendingApproval) {
        throw new WalletError(WalletErrorCode.NotPending, `payment ${id} is ${r.status}, not waiting for approval`);
      }
      return {
        ...r,
        status: approved ? PaymentStatus.Approved : PaymentStatus.Rejected,
        ownerDecision: { approved, by: text(by, 120), at, note: note === undefined ? undefined : text(note, 500) },
      };
    });
    await this.#recordOwnerDecision(record);
    return record;
  }

  /**
   * Signs (and, with a Horizon URL, submits) an approved payment. Idempotent: the exact unsigned
   * transaction is recorded (CAS `approved` → `signing`) before the signer runs; after a crash a
   * `signing` record is finished by signing those same bytes (ed25519 is deterministic, so the
   * envelope is identical), and a `signed` record is never signed again.
   */
  async execute(id: string): Promise<PaymentRecord> {
    let cur = await this.#read(id);
    if (!cur) throw new WalletError(WalletErrorCode.ProposalNotFound, `no payment proposal ${JSON.stringify(id)}`);
    let { record } = cur;
    if (record.ownerDecision) await this.#recordOwnerDecision(record);
    if (record.status === PaymentStatus.Approved) {
      const expiresAt = this.#opts.policy?.expiresAt;
      if (!expiresAt || !(this.#clock().getTime() < expiresAt.getTime())) {
        throw new WalletError(
          WalletErrorCode.DelegationExpired,
          expiresAt ? `the delegation expired at ${expiresAt.toISOString()}: payment ${id} is not signed` : `no spending policy: payment ${id} is not signed`,
        );
      }
      const signer = this.#signer();
      const sequence = await this.#nextSequence(signer.publicKey);
      const tx = buildPaymentTransaction({
        source: signer.publicKey,
        sequence,
        destination: record.destination as StellarAddress,
        asset: record.asset as never,
        amount: parseAmount(record.amount!),
        memo: record.memo,
        networkPassphrase: this.#network.networkPassphrase,
      });
      try {
        ({ record } = await this.#update(id, (r) => {
          if (r.status !== PaymentStatus.Approved) throw new RaceLost();
          return { ...r, status: PaymentStatus.Signing, unsignedXdr: tx.toXDR() };
        }));
      } catch (e) {
        if (!(e instanceof RaceLost)) throw e;
        return this.execute(id);
      }
      await this.#ledgerOnce(id, LedgerEntryType.SigningIntent, { source: signer.publicKey, sequence: tx.sequence, txHash: tx.hash().toString("hex") });
      cur = (await this.#read(id))!;
      ({ record } = cur);
    }
    if (record.status === PaymentStatus.Signing) {
      const tx = TransactionBuilder.fromXDR(record.unsignedXdr!, this.#network.networkPassphrase) as Transaction;
      const txHash = this.#signer().sign(tx);
      this.#opts.faults?.afterSign?.();
      const envelopeXdr = tx.toEnvelope().toXDR("base64");
      try {
        ({ record } = await this.#update(id, (r) => {
          if (r.status !== PaymentStatus.Signing) throw new RaceLost();
          return { ...r, status: PaymentStatus.Signed, envelopeXdr, txHash };
        }));
      } catch (e) {
        if (!(e instanceof RaceLost)) throw e;
        return this.execute(id);
      }
      this.#opts.faults?.afterRecordSignature?.();
    }
    if (record.status === PaymentStatus.Signed) {
      await this.#ledgerOnce(id, LedgerEntryType.Signature, { txHash: record.txHash!, envelopeXdr: record.envelopeXdr! });
      ({ record } = (await this.#read(id))!);
      if (this.#network.horizonUrl) {
        // Only a Signed record moves on, so a late answer from a racing executor cannot overwrite it.
        const fromSigned = (change: (r: PaymentRecord) => PaymentRecord) => (r: PaymentRecord) => {
          if (r.status !== PaymentStatus.Signed) throw new RaceLost();
          return change(r);
        };
        try {
          const res = await submitEnvelope(this.#network, record.envelopeXdr!);
          ({ record } = await this.#update(id, fromSigned((r) => ({ ...r, status: PaymentStatus.Submitted, submission: { at: this.#clock().toISOString(), ledger: res.ledger } }))));
          await this.#ledgerOnce(id, LedgerEntryType.Submission, { txHash: res.hash, ledger: res.ledger });
        } catch (e) {
          if (e instanceof RaceLost) return (await this.get(id))!;
          // Unreachable Horizon: stay Signed, the next execute submits the same envelope again.
          if (!WalletError.isInstance(e) || e.code !== WalletErrorCode.SubmitRejected) throw e;
          const error = e.message;
          try {
            ({ record } = await this.#update(id, fromSigned((r) => ({ ...r, status: PaymentStatus.SubmitFailed, submission: { at: this.#clock().toISOString(), error } }))));
          } catch (raced) {
            if (raced instanceof RaceLost) return (await this.get(id))!;
            throw raced;
          }
          await this.#ledgerOnce(id, LedgerEntryType.SubmissionFailed, { txHash: record.txHash!, error });
        }
      }
      return record;
    }
    if (record.status === PaymentStatus.Submitted || record.status === PaymentStatus.SubmitFailed) return record;
    throw new WalletError(WalletErrorCode.NotApproved, `payment ${id} is ${record.status}; only approved payments are signed`);
  }

  /** Ledger entry for the owner's decision, once (also re-checked by `execute` after a crash). */
  async #recordOwnerDecision(r: PaymentRecord): Promise<void> {
    const o = r.ownerDecision;
    if (!o) return;
    await this.#ledgerOnce(r.id, o.approved ? LedgerEntryType.Approval : LedgerEntryType.Rejection, { by: o.by, note: o.note ?? null });
  }

  /** Ledger entry for the policy's decision, once. */
  async #recordDecision(r: PaymentRecord): Promise<void> {
    const d = r.decision!;
    await this.#ledgerOnce(r.id, LedgerEntryType.Decision, {
      outcome: d.outcome,
      rule: d.rule ?? null,
      reason: d.reason ?? null,
      destination: r.destination ?? null,
      asset: r.asset ?? null,
      amount: r.amount ?? null,
      memo: r.memo ?? null,
    });
  }

  #signer(): Signer {
    if (!this.#opts.signer) throw new WalletError(WalletErrorCode.Locked, "this wallet has no signer (opened without a key)");
    return this.#opts.signer;
  }

  /** Appends a ledger entry for a step unless the record says it is already there. */
  async #ledgerOnce(id: string, type: LedgerEntryType, data: { [key: string]: JsonValue }): Promise<void> {
    const cur = (await this.#read(id))!;
    if (cur.record.ledgered.includes(type)) return;
    // Racing writers of the same step are collapsed by msg-id; `ledgered` covers later retries.
    await this.ledger.appendOnce(`${id}:${type}`, type, id, data);
    await this.#update(id, (r) => (r.ledgered.includes(type) ? r : { ...r, ledgered: [...r.ledgered, type] }));
  }

  /**
   * The source sequence for the next transaction. KV `seq.<account>` holds the last sequence
   * handed out, so concurrent executions (parallel tool calls, several processes) never build two
   * transactions on the same sequence; the base is Horizon's current sequence when configured,
   * else `network.startSequence`.
   */
  async #nextSequence(account: StellarAddress): Promise<string> {
    const base = this.#network.horizonUrl ? BigInt(await loadSequence(this.#network, account)) : BigInt(this.#opts.network?.startSequence ?? "0");
    const key = `seq.${account}`;
    for (let i = 0; i < 100; i++) {
      const e = await this.#kv.get(key);
      const last = e && e.operation === "PUT" ? BigInt(e.string()) : base;
      const current = last > base ? last : base;
      const next = (current + 1n).toString();
      try {
        if (e && e.operation === "PUT") await this.#kv.update(key, next, e.revision);
        else await this.#kv.create(key, next);
        return current.toString();
      } catch (err) {
        if (!isCasConflict(err)) throw new WalletError(WalletErrorCode.Nats, "cannot reserve a sequence number", { cause: err });
      }
    }
    throw new WalletError(WalletErrorCode.Nats, "sequence counter: too many concurrent updates");
  }

  #key(id: string): string {
    return `p.${id}`;
  }

  async #read(id: string): Promise<{ record: PaymentRecord; revision: number } | undefined> {
    if (!PROPOSAL_ID.test(id)) throw new WalletError(WalletErrorCode.InvalidProposal, `proposal id must match ${PROPOSAL_ID}`);
    const e = await this.#kv.get(this.#key(id));
    if (!e || e.operation !== "PUT") return undefined;
    return { record: e.json<PaymentRecord>(), revision: e.revision };
  }

  /** Read-modify-write with CAS on the current revision; `change` sees the fresh record and may throw to abort. */
  async #update(id: string, change: (r: PaymentRecord) => PaymentRecord): Promise<{ record: PaymentRecord; revision: number }> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const cur = (await this.#read(id))!;
      const next = change(cur.record);
      try {
        const newRev = await this.#kv.update(this.#key(id), JSON.stringify(next), cur.revision);
        return { record: next, revision: newRev };
      } catch (e) {
        if (!isCasConflict(e)) throw new WalletError(WalletErrorCode.Nats, `cannot update payment ${id}`, { cause: e });
      }
    }
    throw new WalletError(WalletErrorCode.Nats, `payment ${id}: too many concurrent updates`);
  }
}

class RaceLost extends Error {}

function storedDecision(r: PaymentRecord): PolicyDecision {
  const d = r.decision;
  if (!d) return { outcome: "deny", rule: PolicyRule.InvalidInput, reason: "undecided" };
  if (r.status === PaymentStatus.Rejected) return { outcome: "deny", rule: PolicyRule.Rejected, reason: "rejected by the owner" };
  if (d.outcome === "allow") return { outcome: "allow" };
  if (d.outcome === "needs-approval") return { outcome: "needs-approval", rule: PolicyRule.ApprovalThreshold, reason: d.reason ?? "" };
  return { outcome: "deny", rule: d.rule ?? PolicyRule.InvalidInput, reason: d.reason ?? "" };
}
