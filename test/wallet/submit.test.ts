import { Keypair, Networks } from "@stellar/stellar-sdk";
import { LedgerEntryType } from "../../src/wallet/ledger.ts";
import { PaymentStatus } from "../../src/wallet/payment-record.ts";
import { parsePolicy } from "../../src/wallet/policy.ts";
import { Secret } from "../../src/wallet/secret.ts";
import { Signer } from "../../src/wallet/signer.ts";
import { decodePaymentEnvelope, submitEnvelope } from "../../src/wallet/stellar.ts";
import { Wallet, type WalletOptions } from "../../src/wallet/wallet.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";
import { startHorizonStandIn, type HorizonStandIn } from "./support/horizon-standin.ts";

let nats: TestNats;
let horizon: HorizonStandIn;
beforeAll(async () => {
  nats = await startTestNats();
  horizon = await startHorizonStandIn(Networks.TESTNET);
});
afterAll(async () => {
  await horizon?.close();
  await nats?.close();
});

const policyFor = (destination: string) =>
  parsePolicy({
    version: 1,
    delegation: { expiresAt: "2099-01-01T00:00:00Z" },
    destinations: [destination],
    assets: { XLM: { perTransaction: "10", rollingWindow: { amount: "100", hours: 24 } } },
  });

/** A wallet for `owner` paying `alice` through `horizonUrl`, on its own bucket and ledger. */
const walletFor = (owner: Keypair, alice: string, horizonUrl: string, name: string, faults?: WalletOptions["faults"]) =>
  Wallet.open({
    nats: nats.backbone,
    policy: policyFor(alice),
    signer: new Signer(new Secret(owner.secret())),
    network: { horizonUrl, networkPassphrase: Networks.TESTNET },
    bucket: `SUBMIT_${name}`,
    ledger: { stream: `SUBMIT_${name}_LEDGER`, subject: `submit.${name.toLowerCase()}.ledger` },
    faults,
  });

describe("submission when a Horizon URL is configured", () => {
  it("loads the sequence from Horizon, submits the signed envelope once, and records it", async () => {
    const owner = Keypair.random();
    const alice = Keypair.random().publicKey();
    horizon.accounts.set(owner.publicKey(), 5000n);
    const wallet = await walletFor(owner, alice, horizon.url, "ONE");
    await wallet.propose({ id: "sub-1", destination: alice, asset: "XLM", amount: "7", requestedBy: "t" });
    const done = await wallet.execute("sub-1");
    expect(done.status).toBe(PaymentStatus.Submitted);
    expect(done.submission).toMatchObject({ ledger: 1001 });
    expect(decodePaymentEnvelope(done.envelopeXdr!).sequence).toBe("5001");
    expect(horizon.accepted).toEqual([done.txHash]);

    // Executing again does not submit again; a raw resubmission is refused by the network's sequence rule.
    expect((await wallet.execute("sub-1")).status).toBe(PaymentStatus.Submitted);
    expect(horizon.accepted).toHaveLength(1);
    await expect(submitEnvelope({ horizonUrl: horizon.url, networkPassphrase: Networks.TESTNET }, done.envelopeXdr!)).rejects.toMatchObject({
      code: "submit_rejected",
      message: expect.stringMatching(/tx_bad_seq/),
    });
    const types = (await wallet.ledger.entries({ proposalId: "sub-1" })).map((e) => e.type);
    expect(types.slice(-2)).toEqual([LedgerEntryType.Signature, LedgerEntryType.Submission]);
  });

  it("parallel executions build on distinct, consecutive sequences", async () => {
    const owner = Keypair.random();
    const alice = Keypair.random().publicKey();
    horizon.accounts.set(owner.publicKey(), 700n);
    const wallet = await walletFor(owner, alice, horizon.url, "PAR");
    for (let i = 0; i < 3; i++) await wallet.propose({ id: `par-${i}`, destination: alice, asset: "XLM", amount: "1", requestedBy: "t" });
    // Built concurrently: each gets its own sequence (submission order is not guaranteed, so some may
    // be refused with tx_bad_seq and recorded as such, but no two share a sequence).
    const built = await Promise.all([0, 1, 2].map((i) => wallet.execute(`par-${i}`)));
    const seqs = built.map((r) => decodePaymentEnvelope(r.envelopeXdr!).sequence).sort();
    expect(seqs).toEqual(["701", "702", "703"]);
  });

  it("a refused submission is recorded as submit_failed with the network's reason, and not retried blindly", async () => {
    const owner = Keypair.random();
    const alice = Keypair.random().publicKey();
    const open = (faults?: WalletOptions["faults"]) => walletFor(owner, alice, horizon.url, "FAIL", faults);
    // Unknown account: the sequence cannot be loaded, so nothing is signed.
    const wallet = await open();
    await wallet.propose({ id: "sub-2", destination: alice, asset: "XLM", amount: "1", requestedBy: "t" });
    await expect(wallet.execute("sub-2")).rejects.toMatchObject({ code: "submit_failed" });
    expect((await wallet.get("sub-2"))!.status).toBe(PaymentStatus.Approved);

    // Signed, then the process stops before submitting; meanwhile the account's sequence moves on.
    horizon.accounts.set(owner.publicKey(), 10n);
    const crash = new Error("stopped before submit");
    await expect((await open({ afterRecordSignature: () => { throw crash; } })).execute("sub-2")).rejects.toBe(crash);
    horizon.accounts.set(owner.publicKey(), 11n);
    const failed = await (await open()).execute("sub-2");
    expect(failed.status).toBe(PaymentStatus.SubmitFailed);
    expect(failed.submission?.error).toMatch(/tx_bad_seq/);
    expect(horizon.accepted).not.toContain(failed.txHash);
    const last = (await wallet.ledger.entries({ proposalId: "sub-2" })).at(-1)!;
    expect(last).toMatchObject({ type: LedgerEntryType.SubmissionFailed, data: { txHash: failed.txHash } });
    expect(String(last.data.error)).toMatch(/tx_bad_seq/);
    // Executing again returns the recorded failure; it does not sign a new transaction.
    expect((await wallet.execute("sub-2")).txHash).toBe(failed.txHash);
  });

  it("an unreachable Horizon leaves the payment signed; a later execute submits the same envelope", async () => {
    const owner = Keypair.random();
    const alice = Keypair.random().publicKey();
    horizon.accounts.set(owner.publicKey(), 40n);
    const open = (horizonUrl: string, faults?: WalletOptions["faults"]) => walletFor(owner, alice, horizonUrl, "DOWN", faults);
    const wallet = await open(horizon.url);
    await wallet.propose({ id: "down-1", destination: alice, asset: "XLM", amount: "1", requestedBy: "t" });
    // Sign with Horizon up (sequence loaded), then submit to a Horizon that is down.
    const signedOnly = await open("http://127.0.0.1:9");
    const crash = new Error("stop after signature");
    const sign = await open(horizon.url, { afterRecordSignature: () => { throw crash; } });
    await expect(sign.execute("down-1")).rejects.toBe(crash);
    await expect(signedOnly.execute("down-1")).rejects.toMatchObject({ code: "submit_failed" });
    const stillSigned = (await wallet.get("down-1"))!;
    expect(stillSigned.status).toBe(PaymentStatus.Signed);
    const landed = await wallet.execute("down-1");
    expect(landed.status).toBe(PaymentStatus.Submitted);
    expect(landed.txHash).toBe(stillSigned.txHash);
    expect(horizon.accepted).toContain(stillSigned.txHash);
  });
});
