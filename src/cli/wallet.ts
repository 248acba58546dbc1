/**
 * The wallet a run gets, from the owner's configuration. It is always given to the agent (so its
 * `propose_payment` tool exists and every attempt is judged and on the ledger); what it can do
 * depends on:
 * - the policy file (`VIBEWRITER_POLICY`, default `<state>/wallet/policy.yaml`): none = deny all;
 * - the signer: only when the keystore is unlocked (VIBEWRITER_WALLET_PASSPHRASE or
 *   VIBEWRITER_WALLET_KEY) and holds a key named by VIBEWRITER_WALLET_KEY_NAME (default "default");
 * - submission: only with VIBEWRITER_HORIZON_URL.
 * No key material passes through here except inside the wallet's own `Secret`/`Signer` types.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { stateDir } from "../config/paths.ts";
import { Keystore, WalletEnv } from "../wallet/keystore.ts";
import { loadPolicyFile, type SpendingPolicy } from "../wallet/policy.ts";
import type { Signer } from "../wallet/signer.ts";
import { Wallet } from "../wallet/wallet.ts";
import type { Backbone } from "../nats/index.ts";
import { loadTrust, runtimeLedger } from "./trust.ts";

export const WalletConfigEnv = {
  Policy: "VIBEWRITER_POLICY",
  KeyName: "VIBEWRITER_WALLET_KEY_NAME",
  Horizon: "VIBEWRITER_HORIZON_URL",
  Network: "VIBEWRITER_STELLAR_NETWORK",
} as const;

export function policyPathFor(env: NodeJS.ProcessEnv): string {
  return env[WalletConfigEnv.Policy] || join(stateDir(env), "wallet", "policy.yaml");
}

export interface RunWallet {
  /** Given to the agent, which adds the `propose_payment` tool over it. */
  wallet: Wallet;
  /** For the run's header line: what the wallet can do. Public facts only. */
  summary: string;
}

export async function openRunWallet(backbone: Backbone, env: NodeJS.ProcessEnv): Promise<RunWallet> {
  const policyPath = policyPathFor(env);
  // An explicitly named policy that is missing is an error; the default location is optional.
  const policy: SpendingPolicy | undefined =
    env[WalletConfigEnv.Policy] || existsSync(policyPath) ? await loadPolicyFile(policyPath) : undefined;

  let signer: Signer | undefined;
  if (env[WalletEnv.Passphrase] || env[WalletEnv.MasterKey]) {
    const keystore = await Keystore.open({ env });
    const name = env[WalletConfigEnv.KeyName] || "default";
    if (keystore.has(name)) signer = keystore.signer(name);
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
    policy ? `policy ${policyPath}` : "no policy (every payment denied)",
    signer ? `signer ${signer.publicKey}` : "no signer",
    env[WalletConfigEnv.Horizon] ? "submits to Horizon" : "offline (signs, never submits)",
  ].join(", ");
  return { wallet, summary };
}
