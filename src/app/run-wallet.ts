/**
 * The wallet a run gets, from the owner's configuration. The agent gets a wallet (and with it its
 * `propose_payment` tool, judged by the policy and recorded on the ledger) only when the run can
 * really pay, which takes both:
 * - a policy file (`VIBEWRITER_POLICY`, default `<state>/wallet/policy.yaml`); without one every
 *   payment would be denied;
 * - a signer: the keystore unlocked (VIBEWRITER_WALLET_PASSPHRASE or VIBEWRITER_WALLET_KEY) and
 *   holding the key named by VIBEWRITER_WALLET_KEY_NAME (default "default"); without one nothing
 *   could be signed.
 * Otherwise the run has no wallet and the model is not offered a payment tool at all.
 * Submission happens only with VIBEWRITER_HORIZON_URL.
 * No key material passes through here except inside the wallet's own `Secret`/`Signer` types.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { stateDir } from "../config/index.ts";
import { Keystore, loadPolicyFile, type Signer, type SpendingPolicy, Wallet, WalletEnv } from "../wallet/index.ts";
import type { Backbone } from "../nats/index.ts";
import { loadTrust, runtimeLedger, TrustEnv } from "./trust.ts";

export const WalletConfigEnv = {
  Policy: "VIBEWRITER_POLICY",
  KeyName: "VIBEWRITER_WALLET_KEY_NAME",
  Horizon: "VIBEWRITER_HORIZON_URL",
  Network: TrustEnv.Network,
} as const;

export function policyPathFor(env: NodeJS.ProcessEnv): string {
  return env[WalletConfigEnv.Policy] || join(stateDir(env), "wallet", "policy.yaml");
}

export interface RunWallet {
  /** Given to the agent, which adds the `propose_payment` tool over it; absent when the run cannot pay. */
  wallet?: Wallet;
  /** For the run's header line: what the wallet can do. Public facts only. */
  summary: string;
}

export async function openRunWallet(backbone: Backbone, env: NodeJS.ProcessEnv): Promise<RunWallet> {
  const policyPath = policyPathFor(env);
  // An explicitly named policy that is missing is an error; the default location is optional.
  const policy: SpendingPolicy | undefined =
    env[WalletConfigEnv.Policy] || existsSync(policyPath) ? await loadPolicyFile(policyPath) : undefined;
  if (!policy) return { summary: `off, no payment tool (no spending policy at ${policyPath})` };

  let signer: Signer | undefined;
  const name = env[WalletConfigEnv.KeyName] || "default";
  if (env[WalletEnv.Passphrase] || env[WalletEnv.MasterKey]) {
    const keystore = await Keystore.open({ env });
    if (keystore.has(name)) signer = keystore.signer(name);
  }
  if (!signer) {
    const why = env[WalletEnv.Passphrase] || env[WalletEnv.MasterKey]
      ? `no key "${name}" in the keystore`
      : `the keystore is locked: set ${WalletEnv.Passphrase} or ${WalletEnv.MasterKey}`;
    return { summary: `off, no payment tool (policy ${policyPath}, but no signer: ${why})` };
  }
  const trust = await loadTrust(env);
  const wallet = await Wallet.open({
    nats: backbone,
    policy,
    signer,
    ownerPublicKey: trust.ownerPublicKey,
    ledger: await runtimeLedger(env, trust),
    network: {
      ...(env[WalletConfigEnv.Horizon] ? { horizonUrl: env[WalletConfigEnv.Horizon] } : {}),
      ...(env[WalletConfigEnv.Network] ? { networkPassphrase: env[WalletConfigEnv.Network] } : {}),
    },
  });
  const summary = [
    `policy ${policyPath}`,
    `signer ${signer.publicKey}`,
    env[WalletConfigEnv.Horizon] ? "submits to Horizon" : "offline (signs, never submits)",
  ].join(", ");
  return { wallet, summary };
}
