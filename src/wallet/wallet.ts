import { Kvm, type KV } from "@nats-io/kv";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { TransactionBuilder, type Transaction } from "@stellar/stellar-sdk";
import { Names } from "../nats/index.ts";
import type { StellarAddress } from "./address.ts";
import { formatAmount, parseAmount } from "./amount.ts";
import { WalletError, WalletErrorCode } from "./errors.ts";
import type { JsonValue } from "./canonical-json.ts";
import { AuditLedger, LedgerEntryType, type LedgerOptions } from "./ledger.ts";
import { MandateDecision, signMandate, termsMismatch, termsOfDecision, termsOfPayment, verifyMandate, type Mandate, type PaymentTerms } from "./mandate.ts";
import type { OwnerKey } from "./owner-key.ts";
import { parseMemo } from "./memo.ts";
import { PaymentStatus, PROPOSAL_ID, PROPOSAL_ID_RULE, proposalFingerprint, type PaymentRecord } from "./payment-record.ts";
import { evaluatePolicy, parsePaymentRequest, PolicyRule, policyVersion, type PolicyDecision, type SpendingPolicy } from "./policy.ts";
import type { Signer } from "./signer.ts";
import { isCasConflict, SpendWindow } from "./spend-window.ts";
import { buildPaymentTransaction, decodePaymentEnvelope, DEFAULT_NETWORK_PASSPHRASE, loadSequence, submitEnvelope, type StellarNetwork } from "./stellar.ts";


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
  /** The owner's public key (`U…`) that mandates are checked against; from the state dir or env, never NATS. */
  ownerPublicKey?: string;
  /** The owner's unlocked key: only `approve`/`reject` (the owner's CLI) have it. */
  ownerKey?: OwnerKey;
  /** How long an approval stays usable (default 24 h, never past the delegation's expiry). */
  mandateTtlMs?: number;
  mandatesBucket?: string;
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
  readonly #mandates: KV;
  readonly #window: SpendWindow;
  readonly #opts: WalletOptions;
  readonly #clock: () => Date;
  readonly #network: StellarNetwork;

  private constructor(opts: WalletOptions, kv: KV, mandates: KV, ledger: AuditLedger) {
    this.#opts = opts;
    this.#kv = kv;
    this.#mandates = mandates;
    this.ledger = ledger;
    this.#window = new SpendWindow(kv);
    this.#clock = opts.clock ?? (() => new Date());
    this.#network = { networkPassphrase: opts.network?.networkPassphrase ?? DEFAULT_NETWORK_PASSPHRASE, horizonUrl: opts.network?.horizonUrl };
  }

  static async open(opts: WalletOptions): Promise<Wallet> {
    let kv: KV;
    let mandates: KV;
    try {
      kv = await new Kvm(opts.nats.js).create(opts.bucket ?? Names.paymentsBucket, { history: 10 });
      mandates = await new Kvm(opts.nats.js).create(opts.mandatesBucket ?? Names.mandatesBucket, { history: 5 });
    } catch (cause) {
      throw new WalletError(WalletErrorCode.Nats, `cannot open the payments buckets ${opts.bucket ?? Names.paymentsBucket}, ${opts.mandatesBucket ?? Names.mandatesBucket}`, { cause });
    }
    const ledger = await AuditLedger.open(opts.nats, { clock: opts.clock, ...opts.ledger });
    return new Wallet(opts, kv, mandates, ledger);
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
      throw new WalletError(WalletErrorCode.InvalidProposal, `a proposal id is ${PROPOSAL_ID_RULE}`);
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
    const key = this.#opts.ownerKey;
    if (!key) throw new WalletError(WalletErrorCode.OwnerLocked, "only the owner decides: this needs the owner's unlocked key");
    const policy = this.#opts.policy;
    if (!policy) throw new WalletError(WalletErrorCode.InvalidPolicy, "the owner decides under a spending policy: set VIBEWRITER_POLICY");
    const cur = await this.#read(id);
    if (!cur) throw new WalletError(WalletErrorCode.ProposalNotFound, `no payment proposal ${JSON.stringify(id)}`);
    if (cur.record.status !== PaymentStatus.PendingApproval) {
      throw new WalletError(WalletErrorCode.NotPending, `payment ${id} is ${cur.record.status}, not waiting for approval`);
    }
    // The owner decides on the terms the runtime ledgered (signed), never on the record alone.
    const decided = (await this.ledger.entriesFor(id)).find((e) => e.type === LedgerEntryType.Decision);
    if (!decided || decided.data.outcome !== "needs-approval") {
      return this.#tamper(id, "the ledger holds no signed decision asking the owner for this payment", cur.record);
    }
    const terms = termsOfDecision(id, decided);
    const wrong = termsMismatch(terms, termsOfRecord(cur.record));
    if (wrong.length) return this.#tamper(id, `the payment record's ${wrong.join(", ")} disagree with its ledgered decision`, cur.record);
    const now = this.#clock();
    const ttl = Math.min(this.#opts.mandateTtlMs ?? 24 * 3_600_000, policy.expiresAt.getTime() - now.getTime());
    const mandate: Mandate = {
      v: 1,
      ...terms,
      decision: approved ? MandateDecision.Approve : MandateDecision.Reject,
      policyVersion: policyVersion(policy),
      issuedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + Math.max(0, ttl)).toISOString(),
      owner: key.publicKey,
      note: note === undefined ? null : text(note, 500),
    };
    const signed = signMandate(mandate, key);
    try {
      // First decision wins: a mandate is never replaced.
      await this.#mandates.create(mandateKey(id), JSON.stringify(signed));
    } catch (e) {
      if (!isCasConflict(e)) throw new WalletError(WalletErrorCode.Nats, `cannot record the owner's decision on ${id}`, { cause: e });
      throw new WalletError(WalletErrorCode.NotPending, `payment ${id} already has the owner's decision`);
    }
    const at = now.toISOString();
    const { record } = await this.#update(id, (r) => ({
      ...r,
      status: approved ? PaymentStatus.Approved : PaymentStatus.Rejected,
      ownerDecision: { approved, by: text(by, 120), at, note: note === undefined ? undefined : text(note, 500) },
    }));
    await this.#recordOwnerDecision(record);
    return record;
  }

  /** The owner's signed mandate for `id`, checked (signature, owner, payment); undefined when none is stored. */
  async mandate(id: string): Promise<Mandate | undefined> {
    const e = await this.#mandates.get(mandateKey(id));
    if (!e || e.operation !== "PUT") return undefined;
    const owner = this.#opts.ownerPublicKey ?? this.#opts.ownerKey?.publicKey;
    if (!owner) throw new WalletError(WalletErrorCode.MandateInvalid, "no owner public key is configured: no mandate can be checked");
    let value: unknown;
    try {
      value = e.json();
    } catch {
      value = undefined;
    }
    return verifyMandate(value, owner, id);
  }

  /**
   * Refuses what is about to be signed unless (a) it matches the ledgered decision, and the owner's
   * mandate when one is needed, field by field, (b) the policy allows it again, now, and (c) no other
   * transaction was ever signed for this proposal. A mismatch is recorded and thrown.
   */
  async #authorize(record: PaymentRecord, tx: Transaction): Promise<void> {
    const id = record.id;
    const signer = this.#signer();
    let d;
    try {
      d = decodePaymentEnvelope(tx.toXDR(), this.#network.networkPassphrase as never);
    } catch {
      return this.#tamper(id, "the transaction to sign is not a single payment", record);
    }
    if (d.source !== signer.publicKey) return this.#tamper(id, `the transaction spends from ${d.source}, not from this wallet`, record);
    const terms = termsOfPayment(id, d);
    const entries = await this.ledger.entriesFor(id);
    const decided = entries.find((e) => e.type === LedgerEntryType.Decision);
    if (!decided) return this.#tamper(id, "no signed decision for this payment is on the ledger", record, terms);
    const wrong = termsMismatch(termsOfDecision(id, decided), terms);
    if (wrong.length) return this.#tamper(id, `the transaction's ${wrong.join(", ")} disagree with the ledgered decision`, record, terms);
    const hash = tx.hash().toString("hex");
    const other = entries.find((e) => (e.type === LedgerEntryType.SigningIntent || e.type === LedgerEntryType.Signature) && e.data.txHash !== hash);
    if (other) return this.#tamper(id, `another transaction (${String(other.data.txHash).slice(0, 16)}…) was already signed for this payment`, record, terms);
    const policy = this.#opts.policy;
    const now = this.#clock();
    const limits = policy?.assets.get(terms.asset as never);
    const spent = limits ? await this.#window.spentBefore(id, terms.asset, limits.window.ms) : undefined;
    if (limits && spent === undefined) return this.#tamper(id, "this payment holds no reservation in the spend window", record, terms);
    const verdict = evaluatePolicy(policy, { destination: terms.destination as StellarAddress, asset: terms.asset as never, amount: parseAmount(terms.amount) }, { now, windowSpent: spent ?? 0n });
    if (verdict.outcome === "deny") return this.#tamper(id, `the policy refuses this transaction now (${verdict.rule}: ${verdict.reason})`, record, terms);
    if (verdict.outcome === "needs-approval" || decided.data.outcome !== "allow") {
      if (decided.data.outcome === "deny") return this.#tamper(id, "the ledgered decision denied this payment", record, terms);
      let m: Mandate | undefined;
      try {
        m = await this.mandate(id);
      } catch (e) {
        return this.#tamper(id, WalletError.isInstance(e) ? e.message : "the mandate does not check out", record, terms);
      }
      if (!m) return this.#tamper(id, "the owner's signed mandate is missing", record, terms);
      if (m.decision !== MandateDecision.Approve) return this.#tamper(id, "the owner's mandate rejects this payment", record, terms);
      const off = termsMismatch(m, terms);
      if (off.length) return this.#tamper(id, `the transaction's ${off.join(", ")} disagree with the owner's mandate`, record, terms);
      if (!policy || m.policyVersion !== policyVersion(policy)) return this.#tamper(id, "the mandate was given under another version of the policy", record, terms);
      if (!(now.getTime() < Date.parse(m.expiresAt))) return this.#tamper(id, `the owner's mandate expired at ${m.expiresAt}`, record, terms);
    }
  }

  /** Records a refused signing (ledger `tamper`, record `refused`) and throws `tamper_detected`. */
  async #tamper(id: string, reason: string, record: PaymentRecord, terms?: PaymentTerms): Promise<never> {
    await this.ledger.append(LedgerEntryType.Tamper, id, {
      reason,
      status: record.status,
      ...(terms ? { destination: terms.destination, asset: terms.asset, amount: terms.amount, memo: terms.memo } : {}),
    });
    await this.#update(id, (r) => ({ ...r, status: PaymentStatus.Refused, refusal: { reason, at: this.#clock().toISOString() } })).catch(() => {});
    throw new WalletError(WalletErrorCode.Tamper, `payment ${id} refused, nothing signed: ${reason}`);
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
      await this.#authorize(record, tx);
      try {
        ({ record } = await this.#update(id, (r) => {
          if (r.status !== PaymentStatus.Approved) throw new RaceLost();
          return { ...r, status: PaymentStatus.Signing, unsignedXdr: tx.toXDR() };
        }));
      } catch (e) {
        if (!(e instanceof RaceLost)) throw e;
        return this.execute(id);
      }
      await this.#ledgerOnce(id, LedgerEntryType.SigningIntent, { source: signer.publicKey, sequence: tx.sequence, txHash: tx.hash().toString("hex"), unsignedXdr: tx.toXDR() });
      cur = (await this.#read(id))!;
      ({ record } = cur);
    }
    if (record.status === PaymentStatus.Signing) {
      let tx: Transaction;
      try {
        tx = TransactionBuilder.fromXDR(record.unsignedXdr ?? "", this.#network.networkPassphrase) as Transaction;
      } catch {
        return this.#tamper(id, "the recorded transaction does not decode", record);
      }
      // The recorded bytes are re-checked: the record lives in NATS, which is not trusted.
      await this.#authorize(record, tx);
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
          if (!WalletError.isInstance(e, WalletErrorCode.SubmitRejected)) throw e;
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
    const stored = await this.#mandates.get(mandateKey(r.id));
    if (!stored || stored.operation !== "PUT") return;
    let mandate: JsonValue;
    try {
      mandate = stored.json<JsonValue>();
    } catch {
      return;
    }
    await this.#ledgerOnce(r.id, o.approved ? LedgerEntryType.Approval : LedgerEntryType.Rejection, { by: o.by, note: o.note ?? null, mandate });
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
    // The ledger itself says whether the step is there, at any age (the record is only a hint, and
    // JetStream's msg-id dedup, which collapses racing writers, lasts two minutes).
    const already = (await this.ledger.entriesFor(id)).some((e) => e.type === type);
    if (!already) await this.ledger.appendOnce(`${id}:${type}`, type, id, data);
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
    if (!PROPOSAL_ID.test(id)) throw new WalletError(WalletErrorCode.InvalidProposal, `a proposal id is ${PROPOSAL_ID_RULE}`);
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

const mandateKey = (id: string) => `m.${id}`;

function termsOfRecord(r: PaymentRecord): PaymentTerms {
  return { paymentId: r.id, destination: r.destination ?? "", asset: r.asset ?? "", amount: r.amount ?? "", memo: r.memo ?? null };
}

function storedDecision(r: PaymentRecord): PolicyDecision {
  const d = r.decision;
  if (!d) return { outcome: "deny", rule: PolicyRule.InvalidInput, reason: "undecided" };
  if (r.status === PaymentStatus.Rejected) return { outcome: "deny", rule: PolicyRule.Rejected, reason: "rejected by the owner" };
  if (d.outcome === "allow") return { outcome: "allow" };
  if (d.outcome === "needs-approval") return { outcome: "needs-approval", rule: PolicyRule.ApprovalThreshold, reason: d.reason ?? "" };
  return { outcome: "deny", rule: d.rule ?? PolicyRule.InvalidInput, reason: d.reason ?? "" };
}
