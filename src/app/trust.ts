/**
 * Who this process is, for money: the NATS identity it connects as, the key it signs ledger
 * entries with, and the keys it trusts. Built from the state directory (never from NATS):
 * - the runtime signs its ledger entries with its identity key (`identities/runtime.nk`);
 * - the owner signs mandates and their ledger entries with the owner's key (unlocked by
 *   `VIBEWRITER_OWNER_PASSPHRASE`);
 * - verification trusts exactly those two public keys, plus `VIBEWRITER_LEDGER_SIGNERS` (the
 *   runtime keys of other machines sharing the ledger), and the anchor file beside them.
 */
import { join } from "node:path";
import { stateDir } from "../config/index.ts";
import { isUserKey, loadOrCreateIdentity, Names, type NatsIdentity, NatsRole, nkeySigner } from "../nats/index.ts";
import { checkLedgerMeaning, DEFAULT_NETWORK_PASSPHRASE, FileLedgerAnchor, type LedgerOptions, type LedgerSigner, type OwnerKey, readOwnerPublicKey } from "../wallet/index.ts";
import { AppError, AppErrorCode } from "./errors.ts";

export const TrustEnv = { LedgerSigners: "VIBEWRITER_LEDGER_SIGNERS", Network: "VIBEWRITER_STELLAR_NETWORK" } as const;

export interface Trust {
  /** This machine's runtime identity (its key signs the runtime's ledger entries). */
  runtime: NatsIdentity;
  ownerPublicKey?: string;
  trusted: string[];
  anchorFile: string;
}

export async function loadTrust(env: NodeJS.ProcessEnv): Promise<Trust> {
  const state = stateDir(env);
  const runtime = await loadOrCreateIdentity(state, NatsRole.Runtime);
  const ownerPublicKey = await readOwnerPublicKey(state, env);
  const extra = (env[TrustEnv.LedgerSigners] ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  for (const k of extra) if (!isUserKey(k)) throw new AppError(AppErrorCode.NotConfigured, `${TrustEnv.LedgerSigners}: ${k} is not an nkey user public key (U…)`, { fix: `list the runtime keys of the machines sharing the ledger, comma-separated (\`vibewriter doctor\` prints this machine's)` });
  const trusted = [runtime.publicKey, ...(ownerPublicKey ? [ownerPublicKey] : []), ...extra];
  return { runtime, ownerPublicKey, trusted, anchorFile: join(state, "ledger", `${Names.ledgerStream}.anchor.json`) };
}

/** The runtime's ledger: signed by its identity key, anchored, checked against the trusted keys. */
export async function runtimeLedger(env: NodeJS.ProcessEnv, trust: Trust): Promise<LedgerOptions> {
  return withAnchor(env, trust, nkeySigner(trust.runtime.seed));
}

export function ownerLedger(env: NodeJS.ProcessEnv, trust: Trust, key: OwnerKey): LedgerOptions {
  return withAnchor(env, trust, { publicKey: key.publicKey, sign: (d) => key.sign(d) });
}

/** Read-only: verification (viewer). */
export function viewerLedger(env: NodeJS.ProcessEnv, trust: Trust): LedgerOptions {
  return { ...withAnchor(env, trust, undefined), readOnly: true };
}

function withAnchor(env: NodeJS.ProcessEnv, trust: Trust, signer: LedgerSigner | undefined): LedgerOptions {
  const networkPassphrase = env[TrustEnv.Network] || DEFAULT_NETWORK_PASSPHRASE;
  return {
    signer,
    trusted: trust.trusted,
    anchor: new FileLedgerAnchor(trust.anchorFile, Names.ledgerStream, { signer, trusted: trust.trusted }),
    meaning: (entries) => checkLedgerMeaning(entries, { ownerPublicKey: trust.ownerPublicKey, networkPassphrase }),
  };
}
