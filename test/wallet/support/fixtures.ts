import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Keypair } from "@stellar/stellar-sdk";
import { Keystore, WalletEnv } from "../../../src/wallet/keystore.ts";
import { loadPolicyFile, type SpendingPolicy } from "../../../src/wallet/policy.ts";
import { Secret } from "../../../src/wallet/secret.ts";
import type { Signer } from "../../../src/wallet/signer.ts";
import { createOwnerKey, OwnerEnv, unlockOwnerKey, type OwnerKey } from "../../../src/wallet/owner-key.ts";

/** A real encrypted keystore and a YAML policy in a temporary state directory. */
export interface WalletFixture {
  dir: string;
  env: NodeJS.ProcessEnv;
  seed: string;
  publicKey: string;
  alice: string;
  policy: SpendingPolicy;
  policyPath: string;
  /** The owner's signing identity (mandates), sealed in `dir` with the env's owner passphrase. */
  ownerKey: OwnerKey;
  /** What approve/reject take: the owner's key and the policy they decide under. */
  owner: { ownerKey: OwnerKey; policy: SpendingPolicy };
  signer(): Promise<Signer>;
  cleanup(): Promise<void>;
}

export async function walletFixture(limits = { perTransaction: "50", window: "100", approvalAbove: "20" }): Promise<WalletFixture> {
  const dir = await mkdtemp(join(tmpdir(), "vw-wallet-"));
  const env = { VIBEWRITER_STATE_DIR: dir, [WalletEnv.Passphrase]: "wallet passphrase for tests", [OwnerEnv.Passphrase]: "owner passphrase for tests" };
  const owner = Keypair.random();
  const alice = Keypair.random().publicKey();
  const ks = await Keystore.open({ env });
  await ks.import("default", new Secret(owner.secret()));
  const policyPath = join(dir, "policy.yaml");
  await writeFile(
    policyPath,
    [
      "version: 1",
      "delegation:",
      '  expiresAt: "2099-01-01T00:00:00Z"',
      "destinations:",
      `  - address: ${alice}`,
      "    label: Alice (editor)",
      "assets:",
      "  XLM:",
      `    perTransaction: "${limits.perTransaction}"`,
      `    rollingWindow: { amount: "${limits.window}", hours: 24 }`,
      `    approvalAbove: "${limits.approvalAbove}"`,
      "",
    ].join("\n"),
  );
  await createOwnerKey(dir, env);
  const ownerKey = await unlockOwnerKey(dir, env);
  const policy = await loadPolicyFile(policyPath);
  return {
    dir,
    env,
    seed: owner.secret(),
    publicKey: owner.publicKey(),
    alice,
    policy,
    policyPath,
    ownerKey,
    owner: { ownerKey, policy },
    signer: async () => (await Keystore.open({ env })).signer("default"),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
