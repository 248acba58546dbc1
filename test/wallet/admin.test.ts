import { join } from "node:path";
import {
  approvePayment,
  createWalletKey,
  describePolicy,
  pendingPayments,
  rejectPayment,
  verifyLedger,
  walletStatus,
} from "../../src/wallet/admin.ts";
import { PaymentStatus } from "../../src/wallet/payment-record.ts";
import { Wallet } from "../../src/wallet/wallet.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";
import { walletFixture, type WalletFixture } from "./support/fixtures.ts";

let nats: TestNats;
let fx: WalletFixture;
beforeAll(async () => {
  nats = await startTestNats();
  fx = await walletFixture();
});
afterAll(async () => {
  await nats?.close();
  await fx?.cleanup();
});

describe("owner commands", () => {
  it("wallet create fails closed without an unlock key; status says what is missing", async () => {
    await expect(createWalletKey({ VIBEWRITER_STATE_DIR: fx.dir })).rejects.toMatchObject({ code: "wallet_locked" });
    const locked = await walletStatus({ VIBEWRITER_STATE_DIR: fx.dir }, join(fx.dir, "missing.yaml"));
    expect(locked.locked).toBe(true);
    expect(locked.problems.join("\n")).toMatch(/locked[\s\S]*every payment is denied/);

    const ok = await walletStatus(fx.env, join(fx.dir, "policy.yaml"));
    expect(ok).toMatchObject({ locked: false, problems: [], keys: [{ name: "default", publicKey: fx.publicKey }] });
    expect(ok.policy).toBe(describePolicy(fx.policy));
    expect(ok.policy).toMatch(/XLM: ≤ 50 per payment, ≤ 100 per 24 h, owner approves above 20/);
    expect(JSON.stringify(ok)).not.toContain(fx.seed);

    const created = await createWalletKey(fx.env, "second");
    expect(created.publicKey).toMatch(/^G[A-Z2-7]{55}$/);
  });

  it("approve / reject / pending / ledger verify over NATS, without a key", async () => {
    const agentWallet = await Wallet.open({ nats: nats.backbone, policy: fx.policy, signer: await fx.signer(), ownerPublicKey: fx.ownerKey.publicKey });
    await agentWallet.propose({ id: "adm-1", destination: fx.alice, asset: "XLM", amount: "30", requestedBy: "t" });
    await agentWallet.propose({ id: "adm-2", destination: fx.alice, asset: "XLM", amount: "31", requestedBy: "t" });
    expect((await pendingPayments(nats.backbone)).map((p) => p.id).sort()).toEqual(["adm-1", "adm-2"]);
    expect((await approvePayment(nats.backbone, "adm-1", "cli:owner", fx.owner)).status).toBe(PaymentStatus.Approved);
    expect((await rejectPayment(nats.backbone, "adm-2", "cli:owner", fx.owner, "no")).status).toBe(PaymentStatus.Rejected);
    expect(await pendingPayments(nats.backbone)).toEqual([]);
    await expect(approvePayment(nats.backbone, "adm-2", "cli:owner", fx.owner)).rejects.toMatchObject({ code: "not_pending" });
    expect((await agentWallet.execute("adm-1")).status).toBe(PaymentStatus.Signed);
    // adm-1: proposal, decision, approval, signing, signature; adm-2: proposal, decision, rejection.
    expect(await verifyLedger(nats.backbone)).toMatchObject({ ok: true, entries: 8 });
  });
});
