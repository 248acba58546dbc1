import { startTestNats, type TestNats } from "../support/nats.ts";
import { openRunWallet } from "../../src/app/run-wallet.ts";
import { WalletEnv } from "../../src/wallet/keystore.ts";
import { walletFixture, type WalletFixture } from "../wallet/support/fixtures.ts";

/** A run gets a wallet (and the agent its `propose_payment` tool) only when it can really pay. */
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

it("no policy: no wallet, and the header says why", async () => {
  const r = await openRunWallet(nats.backbone, { VIBEWRITER_STATE_DIR: fx.dir, [WalletEnv.Passphrase]: fx.env[WalletEnv.Passphrase] });
  expect(r.wallet).toBeUndefined();
  expect(r.summary).toBe(`off, no payment tool (no spending policy at ${fx.dir}/wallet/policy.yaml)`);
});

it("a policy but no signer (keystore locked, or no such key): no wallet", async () => {
  const locked = await openRunWallet(nats.backbone, { VIBEWRITER_STATE_DIR: fx.dir, VIBEWRITER_POLICY: fx.policyPath });
  expect(locked.wallet).toBeUndefined();
  expect(locked.summary).toMatch(/^off, no payment tool \(policy .*, but no signer: the keystore is locked: set VIBEWRITER_WALLET_PASSPHRASE or VIBEWRITER_WALLET_KEY\)$/);
  const noKey = await openRunWallet(nats.backbone, { ...fx.env, VIBEWRITER_POLICY: fx.policyPath, VIBEWRITER_WALLET_KEY_NAME: "other" });
  expect(noKey.wallet).toBeUndefined();
  expect(noKey.summary).toContain('no signer: no key "other" in the keystore');
});

it("a policy and a signer: a wallet that judges by that policy, and the header names both", async () => {
  const r = await openRunWallet(nats.backbone, { ...fx.env, VIBEWRITER_POLICY: fx.policyPath });
  expect(r.wallet).toBeDefined();
  expect(r.summary).toBe(`policy ${fx.policyPath}, signer ${fx.publicKey}, offline (signs, never submits)`);
  const proposed = await r.wallet!.propose({ id: "p-run-wallet", destination: fx.alice, asset: "XLM", amount: "5", requestedBy: "t-run-wallet" });
  expect(proposed.record.status).not.toBe("denied");
});
