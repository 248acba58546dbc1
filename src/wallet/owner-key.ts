/**
 * The owner's signing identity: an ed25519 nkey (`U…`), separate from the Stellar key and never
 * held by the agent runtime. Its seed is sealed at rest with the owner's passphrase
 * (`VIBEWRITER_OWNER_PASSPHRASE`, scrypt → AES-256-GCM) in `<state dir>/identities/owner.json`
 * (0600); its public key sits beside it in clear. The same key signs mandates (approvals and
 * rejections) and authenticates the owner to the embedded nats-server.
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { nkeys } from "@nats-io/transport-node";
import { createFileOnce, identitiesDir, isUserKey, nkeySigner, OWNER_KEY_FILE } from "../nats/index.ts";
import { WalletError, WalletErrorCode } from "./errors.ts";
import { scrypt, SCRYPT, seal, unseal, type Sealed } from "./keystore.ts";

export const OwnerEnv = {
  /** Unlocks the owner's key for `approve`, `reject` and `owner init`. Never give it to `run`. */
  Passphrase: "VIBEWRITER_OWNER_PASSPHRASE",
  /** The owner's public key, for machines that verify mandates without the owner's key file. */
  PublicKey: "VIBEWRITER_OWNER_PUBLIC_KEY",
} as const;

interface OwnerKeyFile {
  version: 1;
  publicKey: string;
  createdAt: string;
  kdf: { name: "scrypt"; salt: string; N: number; r: number; p: number };
  sealed: Sealed;
}

/** The unlocked owner key: signs; its seed is reachable only for the NATS handshake. */
export interface OwnerKey {
  readonly publicKey: string;
  sign(data: Uint8Array): Uint8Array;
  /** The nkey seed, for `nkeyAuthenticator` (the embedded server's owner identity). */
  natsSeed(): Uint8Array;
}

const AAD = "vibewriter-owner-key-v1";
const fileOf = (stateDir: string) => join(identitiesDir(stateDir), OWNER_KEY_FILE);

function passphrase(env: NodeJS.ProcessEnv): string {
  const p = env[OwnerEnv.Passphrase];
  if (!p) throw new WalletError(WalletErrorCode.OwnerLocked, `the owner's key is locked: set ${OwnerEnv.Passphrase}`);
  return p;
}

/** `vibewriter owner init`: a new owner key. Refuses to replace an existing one. */
export async function createOwnerKey(stateDir: string, env: NodeJS.ProcessEnv, clock: () => Date = () => new Date()): Promise<string> {
  const pass = passphrase(env);
  const dir = identitiesDir(stateDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const pair = nkeys.createUser();
  const salt = randomBytes(16);
  const key = await scrypt(pass, salt, SCRYPT);
  const publicKey = pair.getPublicKey();
  const doc: OwnerKeyFile = {
    version: 1,
    publicKey,
    createdAt: clock().toISOString(),
    kdf: { name: "scrypt", salt: salt.toString("base64"), N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p },
    sealed: seal(key, new TextDecoder().decode(pair.getSeed()), `${AAD}:${publicKey}`),
  };
  const file = fileOf(stateDir);
  // An existing key is never replaced, even by a racing init.
  if (!(await createFileOnce(file, JSON.stringify(doc, null, 2) + "\n"))) {
    throw new WalletError(WalletErrorCode.OwnerKeyExists, `the owner's key already exists (${file}); it is never replaced`);
  }
  return publicKey;
}

async function readKeyFile(stateDir: string): Promise<OwnerKeyFile | undefined> {
  let text: string;
  try {
    text = await readFile(fileOf(stateDir), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new WalletError(WalletErrorCode.OwnerLocked, `cannot read the owner's key ${fileOf(stateDir)}`, { cause: e });
  }
  const doc = JSON.parse(text) as OwnerKeyFile;
  if (doc.version !== 1 || !isUserKey(doc.publicKey)) throw new WalletError(WalletErrorCode.KeystoreCorrupt, `${fileOf(stateDir)} is not an owner key file`);
  return doc;
}

/** Unlocks the owner's key with `VIBEWRITER_OWNER_PASSPHRASE`. */
export async function unlockOwnerKey(stateDir: string, env: NodeJS.ProcessEnv): Promise<OwnerKey> {
  const doc = await readKeyFile(stateDir);
  if (!doc) throw new WalletError(WalletErrorCode.OwnerLocked, "the owner has no key yet: run `vibewriter owner init` (with VIBEWRITER_OWNER_PASSPHRASE set)");
  const pass = passphrase(env);
  const key = await scrypt(pass, Buffer.from(doc.kdf.salt, "base64"), { N: doc.kdf.N, r: doc.kdf.r, p: doc.kdf.p, maxmem: SCRYPT.maxmem });
  let seedText: string;
  try {
    seedText = unseal(key, doc.sealed, `${AAD}:${doc.publicKey}`);
  } catch (cause) {
    throw new WalletError(WalletErrorCode.OwnerLocked, `${OwnerEnv.Passphrase} does not open the owner's key`, { cause });
  }
  const seed = new TextEncoder().encode(seedText);
  const signer = nkeySigner(seed);
  if (signer.publicKey !== doc.publicKey) throw new WalletError(WalletErrorCode.KeystoreCorrupt, "the owner's key does not match its public key");
  return {
    publicKey: doc.publicKey,
    sign: (data) => signer.sign(data),
    natsSeed: () => seed,
  };
}

/**
 * The owner's public key that mandates are checked against: `VIBEWRITER_OWNER_PUBLIC_KEY`, else the
 * key file in the state directory. Never read from NATS.
 */
export async function readOwnerPublicKey(stateDir: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const fromEnv = env[OwnerEnv.PublicKey]?.trim();
  if (fromEnv) {
    if (!isUserKey(fromEnv)) throw new WalletError(WalletErrorCode.InvalidKey, `${OwnerEnv.PublicKey} is not an nkey user public key (U…)`);
    return fromEnv;
  }
  return (await readKeyFile(stateDir))?.publicKey;
}
