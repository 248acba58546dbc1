import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createOwnerKey, OwnerEnv, unlockOwnerKey, type OwnerKey } from "../../src/wallet/owner-key.ts";
import { Keypair } from "@stellar/stellar-sdk";
import { parseStellarAddress } from "../../src/wallet/address.ts";
import { WalletError } from "../../src/wallet/errors.ts";
import { Kvm } from "@nats-io/kv";
import { LedgerEntryType, ledgerStreamConfig } from "../../src/wallet/ledger.ts";
import { PaymentStatus } from "../../src/wallet/payment-record.ts";
import { parsePolicy, PolicyRule, type SpendingPolicy } from "../../src/wallet/policy.ts";
import { Secret } from "../../src/wallet/secret.ts";
import { Signer } from "../../src/wallet/signer.ts";
import { decodePaymentEnvelope } from "../../src/wallet/stellar.ts";
import { Wallet, type WalletOptions } from "../../src/wallet/wallet.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";

let nats: TestNats;
let ownerDir: string;
let ownerKey: OwnerKey;
beforeAll(async () => {
  nats = await startTestNats();
  ownerDir = await mkdtemp(join(tmpdir(), "vw-owner-"));
  const env = { [OwnerEnv.Passphrase]: "owner passphrase for tests" };
  await createOwnerKey(ownerDir, env);
  ownerKey = await unlockOwnerKey(ownerDir, env);
});
afterAll(async () => {
  await nats?.close();
  await rm(ownerDir, { recursive: true, force: true });
});

const owner = Keypair.random();
const alice = parseStellarAddress(Keypair.random().publicKey());
const stranger = Keypair.random().publicKey();
const T0 = new Date("2026-06-01T12:00:00Z").getTime();
const HOUR = 3_600_000;

const policy: SpendingPolicy = parsePolicy({
  version: 1,
  delegation: { expiresAt: "2026-07-01T00:00:00Z" },
  destinations: [alice],
  assets: { XLM: { perTransaction: "50", rollingWindow: { amount: "100", hours: 24 }, approvalAbove: "20" } },
});

let n = 0;
/** A wallet on its own bucket and ledger stream, with a clock the test moves. */
async function openWallet(over: Partial<WalletOptions> & { names?: number } = {}) {
  const id = over.names ?? ++n;
  const clock = { now: T0 };
  const signed: string[] = [];
  const wallet = await Wallet.open({
    nats: nats.backbone,
    policy,
    signer: new Signer(new Secret(owner.secret())).observed((h) => signed.push(h)),
    clock: () => new Date(clock.now),
    bucket: `TEST_PAYMENTS_${id}`,
    ledger: { stream: `TEST_WALLET_LEDGER_${id}`, subject: `test.wallet.ledger.${id}` },
    mandatesBucket: `TEST_MANDATES_${id}`,
    ownerKey,
    ownerPublicKey: ownerKey.publicKey,
    ...over,
  });
  return { wallet, clock, signed, id };
}

const pay = (id: string, amount: string, extra: Record<string, unknown> = {}) => ({
  id,
  destination: alice,
  asset: "XLM",
  amount,
  requestedBy: "test",
  ...extra,
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return WalletError.isInstance(e) ? e.code : `non-wallet error: ${String(e)}`;
  }
  return "no error";
}

describe("wallet: propose, decide, sign", () => {
  it("allows a payment under the threshold, signs it once and records every step", async () => {
    const { wallet, signed } = await openWallet();
    const { record, decision } = await wallet.propose(pay("p1", "12.5", { memo: "invoice 7" }));
    expect(decision).toEqual({ outcome: "allow" });
    expect(record.status).toBe(PaymentStatus.Approved);
    const done = await wallet.execute("p1");
    expect(done.status).toBe(PaymentStatus.Signed);
    const tx = decodePaymentEnvelope(done.envelopeXdr!);
    expect(tx).toMatchObject({ source: owner.publicKey(), destination: alice, amount: "12.5000000", asset: "XLM", memo: "invoice 7", signatures: 1, hash: done.txHash });
    expect(signed).toEqual([done.txHash]);
    // Executing again does not sign again.
    await wallet.execute("p1");
    expect(signed).toHaveLength(1);
    const types = (await wallet.ledger.entries({ proposalId: "p1" })).map((e) => e.type);
    expect(types).toEqual([LedgerEntryType.Proposal, LedgerEntryType.Decision, LedgerEntryType.SigningIntent, LedgerEntryType.Signature]);
    expect((await wallet.ledger.verify()).ok).toBe(true);
  });

  it("uses consecutive sequence numbers offline", async () => {
    const { wallet } = await openWallet({ network: { startSequence: "100" } });
    await wallet.propose(pay("s1", "1"));
    await wallet.propose(pay("s2", "1"));
    const a = decodePaymentEnvelope((await wallet.execute("s1")).envelopeXdr!);
    const b = decodePaymentEnvelope((await wallet.execute("s2")).envelopeXdr!);
    expect([a.sequence, b.sequence]).toEqual(["101", "102"]);
  });

  it("denies everything when there is no policy", async () => {
    const { wallet } = await openWallet({ policy: undefined });
    const { decision, record } = await wallet.propose(pay("np", "1"));
    expect(decision).toMatchObject({ outcome: "deny", rule: PolicyRule.NoPolicy });
    expect(record.status).toBe(PaymentStatus.Denied);
    expect(await codeOf(wallet.execute("np"))).toBe("not_approved");
  });

  it("above the threshold waits for the owner; a memo claiming approval changes nothing", async () => {
    const { wallet, signed } = await openWallet();
    const { decision, record } = await wallet.propose(pay("big", "30", { memo: "APPROVED by owner", reason: "owner approved this already" }));
    expect(decision).toMatchObject({ outcome: "needs-approval", rule: PolicyRule.ApprovalThreshold });
    expect(record.status).toBe(PaymentStatus.PendingApproval);
    expect(await codeOf(wallet.execute("big"))).toBe("not_approved");
    expect(signed).toHaveLength(0);
    const approved = await wallet.approve("big", "owner@cli");
    expect(approved.ownerDecision).toMatchObject({ approved: true, by: "owner@cli" });
    expect((await wallet.execute("big")).status).toBe(PaymentStatus.Signed);
    expect(signed).toHaveLength(1);
    expect(await codeOf(wallet.approve("big", "owner@cli"))).toBe("not_pending");
    expect(await codeOf(wallet.approve("nope", "owner@cli"))).toBe("proposal_not_found");
    const types = (await wallet.ledger.entries({ proposalId: "big" })).map((e) => e.type);
    expect(types).toContain(LedgerEntryType.Approval);
  });

  it("a rejection is final and frees the amount it reserved in the window", async () => {
    const { wallet } = await openWallet();
    await wallet.propose(pay("r1", "50"));
    await wallet.propose(pay("r2", "50"));
    expect((await wallet.propose(pay("r3", "1"))).decision).toMatchObject({ rule: PolicyRule.RollingWindow });
    await wallet.reject("r1", "owner", "not this one");
    expect((await wallet.get("r1"))!.status).toBe(PaymentStatus.Rejected);
    expect(await codeOf(wallet.execute("r1"))).toBe("not_approved");
    expect((await wallet.propose(pay("r4", "20"))).decision).toEqual({ outcome: "allow" });
  });
});

describe("wallet: hostile input", () => {
  it("denies malformed amounts and disguised destinations, and records each attempt", async () => {
    const { wallet } = await openWallet();
    const attempts = [
      pay("h1", "-5"),
      pay("h2", "1e2"),
      pay("h3", "ten"),
      pay("h4", 5 as never),
      { ...pay("h5", "1"), destination: ` ${alice}` },
      { ...pay("h6", "1"), destination: alice.toLowerCase() },
      { ...pay("h7", "1"), destination: stranger },
      { ...pay("h8", "1"), asset: "xlm" },
      { ...pay("h9", "1"), memo: "approved\u0000" },
    ];
    for (const a of attempts) {
      const { decision, record } = await wallet.propose(a);
      expect(decision.outcome, a.id).toBe("deny");
      expect(record.status).toBe(PaymentStatus.Denied);
    }
    const rules = await Promise.all(attempts.map(async (a) => (await wallet.get(a.id))!.decision!.rule));
    expect(rules).toEqual([...Array(6).fill(PolicyRule.InvalidInput), PolicyRule.Destination, PolicyRule.InvalidInput, PolicyRule.InvalidInput]);
    const decisions = (await wallet.ledger.entries()).filter((e) => e.type === LedgerEntryType.Decision);
    expect(decisions.map((e) => e.proposalId)).toEqual(attempts.map((a) => a.id));
    expect(await codeOf(wallet.propose({ ...pay("bad id!", "1") }))).toBe("invalid_proposal");
  });

  it("a replayed proposal id never pays twice; a replay with other contents is refused and recorded", async () => {
    const { wallet, signed } = await openWallet();
    await wallet.propose(pay("rp", "5"));
    await wallet.execute("rp");
    const again = await wallet.propose(pay("rp", "5"));
    expect(again.replay).toBe("identical");
    expect(again.record.status).toBe(PaymentStatus.Signed);
    await wallet.execute("rp");
    const other = await wallet.propose(pay("rp", "49"));
    expect(other).toMatchObject({ replay: "conflict", decision: { outcome: "deny", rule: PolicyRule.Replay } });
    expect(signed).toHaveLength(1);
    expect((await wallet.get("rp"))!.amount).toBe("5");
    const types = (await wallet.ledger.entries({ proposalId: "rp" })).map((e) => e.type);
    expect(types.filter((t) => t === LedgerEntryType.Proposal)).toHaveLength(1);
    expect(types).toContain(LedgerEntryType.ReplayRefused);
  });
});

describe("wallet: the same proposal twice at once", () => {
  it("concurrent identical proposals produce one decision and one ledger entry each", async () => {
    const { wallet } = await openWallet();
    const results = await Promise.all(Array.from({ length: 5 }, () => wallet.propose(pay("same", "5"))));
    expect(results.filter((r) => r.replay === "none").length).toBeGreaterThanOrEqual(1);
    expect(new Set(results.map((r) => r.decision.outcome))).toEqual(new Set(["allow"]));
    const types = (await wallet.ledger.entries({ proposalId: "same" })).map((e) => e.type);
    expect(types).toEqual([LedgerEntryType.Proposal, LedgerEntryType.Decision]);
    expect((await wallet.get("same"))!.ledgered).toEqual([LedgerEntryType.Proposal, LedgerEntryType.Decision]);
  });
});

describe("wallet: rolling window", () => {
  it("stops a large payment split into many small ones, counting pending approvals too", async () => {
    const { wallet } = await openWallet();
    // 40 waits for approval but is already committed against the window.
    expect((await wallet.propose(pay("w0", "40"))).decision.outcome).toBe("needs-approval");
    const outcomes: string[] = [];
    for (let i = 1; i <= 6; i++) outcomes.push((await wallet.propose(pay(`w${i}`, "15"))).decision.outcome);
    // 40 + 4 × 15 = 100 exactly: allowed; the fifth small one would make 115.
    expect(outcomes).toEqual(["allow", "allow", "allow", "allow", "deny", "deny"]);
    expect((await wallet.get("w5"))!.decision!.rule).toBe(PolicyRule.RollingWindow);
  });

  it("rolls over exactly when the window has passed (injected clock)", async () => {
    const { wallet, clock } = await openWallet();
    await wallet.propose(pay("a", "20"));
    for (let i = 0; i < 4; i++) {
      clock.now += HOUR;
      await wallet.propose(pay(`b${i}`, "20"));
    }
    // 100 committed; at T0 + 24h − 1 ms the first is still inside the window.
    clock.now = T0 + 24 * HOUR - 1;
    expect((await wallet.propose(pay("c1", "1"))).decision).toMatchObject({ rule: PolicyRule.RollingWindow });
    // At T0 + 24h the first 20 has left the window.
    clock.now = T0 + 24 * HOUR;
    expect((await wallet.propose(pay("c2", "20"))).decision).toEqual({ outcome: "allow" });
    expect((await wallet.propose(pay("c3", "0.0000001"))).decision).toMatchObject({ rule: PolicyRule.RollingWindow });
  });

  it("concurrent proposals cannot together exceed the cap", async () => {
    const { wallet } = await openWallet();
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => wallet.propose(pay(`cc${i}`, "15"))));
    expect(results.filter((r) => r.decision.outcome === "allow")).toHaveLength(6);
  });

  it("expired delegation denies, and an approval given before expiry is not signed after it", async () => {
    const { wallet, clock, signed } = await openWallet();
    await wallet.propose(pay("early", "30"));
    await wallet.approve("early", "owner");
    clock.now = new Date("2026-07-01T00:00:00Z").getTime();
    expect((await wallet.propose(pay("late", "1"))).decision).toMatchObject({ rule: PolicyRule.DelegationExpired });
    expect(await codeOf(wallet.execute("early"))).toBe("delegation_expired");
    expect(signed).toHaveLength(0);
  });
});

describe("wallet: idempotent signing across a crash", () => {
  it("a ledger step is never written twice, at any age: the ledger is checked, not only the record or the dedup window", async () => {
    const id = ++n;
    // This ledger's stream forgets msg-ids after 100 ms (the server's minimum), as any does after two minutes.
    await nats.backbone.jsm.streams.add({ ...ledgerStreamConfig(`TEST_WALLET_LEDGER_${id}`, `test.wallet.ledger.${id}`), duplicate_window: 100_000_000 });
    const { wallet } = await openWallet({ names: id });
    await wallet.propose(pay("old-1", "5"));
    await wallet.execute("old-1");
    // The record loses its note of what is ledgered (a crash between append and record update).
    const kv = await new Kvm(nats.backbone.js).open(`TEST_PAYMENTS_${id}`);
    const rec = (await kv.get("p.old-1"))!.json<Record<string, unknown>>();
    await kv.put("p.old-1", JSON.stringify({ ...rec, ledgered: [] }));
    // Not synchronisation: the time the dedup window needs to pass, which is what is tested.
    await new Promise((r) => setTimeout(r, 150));
    await wallet.propose(pay("old-1", "5")); // an identical replay
    await wallet.execute("old-1");
    const types = (await wallet.ledger.entries({ proposalId: "old-1" })).map((e) => e.type);
    expect(types).toEqual([LedgerEntryType.Proposal, LedgerEntryType.Decision, LedgerEntryType.SigningIntent, LedgerEntryType.Signature]);
  });

  it("a crash between storing the decision and ledgering it is repaired by replaying the proposal", async () => {
    const crash = new Error("simulated crash after decision");
    const first = await openWallet({ faults: { afterDecisionStored: () => { throw crash; } } });
    await expect(first.wallet.propose(pay("d1", "5"))).rejects.toBe(crash);
    expect((await first.wallet.ledger.entries({ proposalId: "d1" })).map((e) => e.type)).toEqual([LedgerEntryType.Proposal]);
    const second = await openWallet({ names: first.id });
    const again = await second.wallet.propose(pay("d1", "5"));
    expect(again).toMatchObject({ replay: "identical", decision: { outcome: "allow" } });
    expect((await second.wallet.ledger.entries({ proposalId: "d1" })).map((e) => e.type)).toEqual([LedgerEntryType.Proposal, LedgerEntryType.Decision]);
  });

  it("a crash after signing but before recording re-signs the same bytes, never a second transaction", async () => {
    const crash = new Error("simulated crash after sign");
    const first = await openWallet({ faults: { afterSign: () => { throw crash; } } });
    await first.wallet.propose(pay("x1", "10"));
    await expect(first.wallet.execute("x1")).rejects.toBe(crash);
    expect((await first.wallet.get("x1"))!.status).toBe(PaymentStatus.Signing);
    expect(first.signed).toHaveLength(1);

    // "Restart": a new wallet on the same bucket and ledger, without the fault.
    const second = await openWallet({ names: first.id });
    const done = await second.wallet.execute("x1");
    expect(done.status).toBe(PaymentStatus.Signed);
    expect(second.signed).toEqual(first.signed); // identical transaction hash
    await second.wallet.execute("x1");
    expect(second.signed).toHaveLength(1);
    const types = (await second.wallet.ledger.entries({ proposalId: "x1" })).map((e) => e.type);
    expect(types.filter((t) => t === LedgerEntryType.Signature)).toHaveLength(1);
    expect(types.filter((t) => t === LedgerEntryType.SigningIntent)).toHaveLength(1);
  });

  it("a crash after recording the signature but before the ledger entry does not sign again", async () => {
    const crash = new Error("simulated crash after record");
    const first = await openWallet({ faults: { afterRecordSignature: () => { throw crash; } } });
    await first.wallet.propose(pay("x2", "10"));
    await expect(first.wallet.execute("x2")).rejects.toBe(crash);
    const stored = (await first.wallet.get("x2"))!;
    expect(stored.status).toBe(PaymentStatus.Signed);
    expect((await first.wallet.ledger.entries({ proposalId: "x2" })).map((e) => e.type)).not.toContain(LedgerEntryType.Signature);

    const second = await openWallet({ names: first.id });
    const done = await second.wallet.execute("x2");
    expect(second.signed).toHaveLength(0);
    expect(done.envelopeXdr).toBe(stored.envelopeXdr);
    expect((await second.wallet.ledger.entries({ proposalId: "x2" })).map((e) => e.type)).toContain(LedgerEntryType.Signature);
    expect((await second.wallet.ledger.verify()).ok).toBe(true);
  });

  it("two executors racing on one approved payment produce one signed transaction", async () => {
    const first = await openWallet();
    const other = await openWallet({ names: first.id });
    const { wallet } = first;
    await wallet.propose(pay("race", "3"));
    const [a, b] = await Promise.all([wallet.execute("race"), other.wallet.execute("race")]);
    expect(a.txHash).toBe(b.txHash);
    // Both may have run the signer on the recorded bytes, but only one transaction exists.
    expect(new Set([...first.signed, ...other.signed])).toEqual(new Set([a.txHash]));
    const sigs = (await wallet.ledger.entries({ proposalId: "race" })).filter((e) => e.type === LedgerEntryType.Signature);
    expect(sigs.length).toBeGreaterThanOrEqual(1);
    expect(new Set(sigs.map((e) => e.data.txHash)).size).toBe(1);
  });
});
