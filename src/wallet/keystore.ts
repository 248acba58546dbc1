import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, scrypt as scryptCb, type ScryptOptions } from "node:crypto";
import { chmod, mkdir, open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { Keypair, StrKey } from "@stellar/stellar-sdk";
import { stateDir } from "../config/index.ts";
import type { StellarAddress } from "./address.ts";
import { WalletError, WalletErrorCode } from "./errors.ts";
import { Secret } from "./secret.ts";
import { Signer } from "./signer.ts";

/** Environment variables that unlock the wallet. Without one of them the wallet refuses to open. */
export const WalletEnv = {
  Passphrase: "VIBEWRITER_WALLET_PASSPHRASE",
  /** 32 random bytes as 64 hex characters or base64. */
  MasterKey: "VIBEWRITER_WALLET_KEY",
} as const;

export const KEYSTORE_FILE = "keystore.json";

/** scrypt cost: 2^15 × 8 × 1 ≈ 32 MiB and ~0.1 s per unlock on these machines. */
export const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
const CHECK_PLAINTEXT = "vibewriter-wallet-v1";

export interface Sealed {
  iv: string;
  tag: string;
  data: string;
}
interface KeystoreFile {
  version: 1;
  kdf: { name: "scrypt"; salt: string; N: number; r: number; p: number } | { name: "hkdf-master-key"; salt: string };
  /** Encrypts a constant: lets a wrong passphrase fail at open, not at the first payment. */
  check: Sealed;
  keys: Record<string, { publicKey: string; createdAt: string; sealed: Sealed }>;
}

export interface KeyInfo {
  name: string;
  publicKey: StellarAddress;
  createdAt: string;
}

export interface KeystoreOptions {
  /** Folder holding keystore.json; default `stateDir()/wallet`. */
  dir?: string;
  env?: NodeJS.ProcessEnv;
}

export function scrypt(pass: string, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(pass, salt, 32, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export function seal(key: Buffer, plaintext: string, aad: string): Sealed {
  const iv = randomBytes(12);
  const c = createCipheriv("aes-256-gcm", key, iv);
  c.setAAD(Buffer.from(aad));
  const data = Buffer.concat([c.update(plaintext, "utf8"), c.final()]);
  return { iv: iv.toString("base64"), tag: c.getAuthTag().toString("base64"), data: data.toString("base64") };
}

export function unseal(key: Buffer, s: Sealed, aad: string): string {
  const d = createDecipheriv("aes-256-gcm", key, Buffer.from(s.iv, "base64"));
  d.setAAD(Buffer.from(aad));
  d.setAuthTag(Buffer.from(s.tag, "base64"));
  return Buffer.concat([d.update(Buffer.from(s.data, "base64")), d.final()]).toString("utf8");
}

function parseMasterKey(text: string): Buffer {
  const t = text.trim();
  const buf = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, "hex") : Buffer.from(t, "base64");
  if (buf.length !== 32 || (!/^[0-9a-fA-F]{64}$/.test(t) && buf.toString("base64") !== t)) {
    throw new WalletError(WalletErrorCode.BadKey, `${WalletEnv.MasterKey} must be 32 bytes as 64 hex characters or base64`);
  }
  return buf;
}

type Unlock = { kind: "passphrase"; value: Secret<string> } | { kind: "master"; value: Secret<Buffer> };

function unlockFromEnv(env: NodeJS.ProcessEnv): Unlock {
  const master = env[WalletEnv.MasterKey];
  if (master) return { kind: "master", value: new Secret(parseMasterKey(master)) };
  const pass = env[WalletEnv.Passphrase];
  if (pass) return { kind: "passphrase", value: new Secret(pass) };
  throw new WalletError(
    WalletErrorCode.Locked,
    `the wallet is locked: set ${WalletEnv.Passphrase} or ${WalletEnv.MasterKey} (the wallet never creates a key on its own)`,
  );
}

async function deriveKey(unlock: Unlock, kdf: KeystoreFile["kdf"]): Promise<Secret<Buffer>> {
  const salt = Buffer.from(kdf.salt, "base64");
  if (kdf.name === "scrypt") {
    if (unlock.kind !== "passphrase") {
      throw new WalletError(WalletErrorCode.BadKey, `this keystore is encrypted with a passphrase: set ${WalletEnv.Passphrase}`);
    }
    return new Secret(await scrypt(unlock.value.reveal(), salt, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: SCRYPT.maxmem }));
  }
  if (unlock.kind !== "master") {
    throw new WalletError(WalletErrorCode.BadKey, `this keystore is encrypted with a master key: set ${WalletEnv.MasterKey}`);
  }
  return new Secret(Buffer.from(hkdfSync("sha256", unlock.value.reveal(), salt, "vibewriter-wallet-keystore", 32)));
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/**
 * Stellar seeds encrypted at rest (AES-256-GCM, one random IV per key, the key name and public key
 * bound as associated data) in `stateDir()/wallet/keystore.json`, mode 0600. The encryption key
 * comes from the owner's passphrase (scrypt) or a master key (HKDF), never from disk.
 */
export class Keystore {
  readonly path: string;
  #file: KeystoreFile;
  readonly #key: Secret<Buffer>;

  private constructor(path: string, file: KeystoreFile, key: Secret<Buffer>) {
    this.path = path;
    this.#file = file;
    this.#key = key;
  }

  /** Opens (or creates, empty) the keystore. Throws `wallet_locked` when no unlock key is configured. */
  static async open(options: KeystoreOptions = {}): Promise<Keystore> {
    const env = options.env ?? process.env;
    const unlock = unlockFromEnv(env);
    const dir = options.dir ?? join(stateDir(env), "wallet");
    const path = join(dir, KEYSTORE_FILE);
    let text: string | undefined;
    try {
      text = await readFile(path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
        throw new WalletError(WalletErrorCode.KeystoreCorrupt, `cannot read keystore ${path}`, { cause: e });
      }
    }
    if (text === undefined) {
      const salt = randomBytes(16).toString("base64");
      const kdf: KeystoreFile["kdf"] =
        unlock.kind === "passphrase" ? { name: "scrypt", salt, N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p } : { name: "hkdf-master-key", salt };
      const key = await deriveKey(unlock, kdf);
      const file: KeystoreFile = { version: 1, kdf, check: seal(key.reveal(), CHECK_PLAINTEXT, "check"), keys: {} };
      const ks = new Keystore(path, file, key);
      await ks.#save();
      return ks;
    }
    let file: KeystoreFile;
    try {
      file = JSON.parse(text) as KeystoreFile;
      if (file.version !== 1 || !file.kdf || !file.check || typeof file.keys !== "object") throw new Error("unexpected shape");
    } catch (cause) {
      throw new WalletError(WalletErrorCode.KeystoreCorrupt, `keystore ${path} is not a Vibewriter keystore`, { cause });
    }
    const key = await deriveKey(unlock, file.kdf);
    try {
      if (unseal(key.reveal(), file.check, "check") !== CHECK_PLAINTEXT) throw new Error("check mismatch");
    } catch {
      // No cause: the crypto error says nothing useful and we keep key material out of errors.
      throw new WalletError(WalletErrorCode.BadKey, `cannot unlock keystore ${path}: wrong passphrase or master key`);
    }
    // Tighten permissions if someone loosened them.
    await chmod(path, 0o600);
    return new Keystore(path, file, key);
  }

  list(): KeyInfo[] {
    return Object.entries(this.#file.keys).map(([name, k]) => ({
      name,
      publicKey: k.publicKey as StellarAddress,
      createdAt: k.createdAt,
    }));
  }

  has(name: string): boolean {
    return Object.hasOwn(this.#file.keys, name);
  }

  /** Generates a new random Stellar keypair and stores it under `name`. */
  async create(name = "default"): Promise<KeyInfo> {
    return this.#add(name, new Secret(Keypair.random().secret()));
  }

  /** Stores an existing Stellar seed (`S...`). The seed is checked, never echoed. */
  async import(name: string, seed: Secret<string>): Promise<KeyInfo> {
    if (!StrKey.isValidEd25519SecretSeed(seed.reveal())) {
      throw new WalletError(WalletErrorCode.InvalidKey, "the imported value is not a valid Stellar secret seed");
    }
    return this.#add(name, seed);
  }

  /** Decrypts `name` and returns a signer for it. */
  signer(name = "default"): Signer {
    const entry = this.#file.keys[name];
    if (!entry) throw new WalletError(WalletErrorCode.KeyNotFound, `no wallet key named ${JSON.stringify(name)}`);
    let seed: string;
    try {
      seed = unseal(this.#key.reveal(), entry.sealed, `${name}:${entry.publicKey}`);
    } catch {
      throw new WalletError(WalletErrorCode.KeystoreCorrupt, `wallet key ${JSON.stringify(name)} cannot be decrypted (tampered?)`);
    }
    const signer = new Signer(new Secret(seed));
    if (signer.publicKey !== entry.publicKey) {
      throw new WalletError(WalletErrorCode.KeystoreCorrupt, `wallet key ${JSON.stringify(name)} does not match its public key`);
    }
    return signer;
  }

  async #add(name: string, seed: Secret<string>): Promise<KeyInfo> {
    if (!NAME.test(name)) throw new WalletError(WalletErrorCode.InvalidKey, `key name ${JSON.stringify(name)} must match ${NAME}`);
    if (this.has(name)) throw new WalletError(WalletErrorCode.KeyExists, `a wallet key named ${JSON.stringify(name)} already exists`);
    const publicKey = Keypair.fromSecret(seed.reveal()).publicKey();
    const createdAt = new Date().toISOString();
    this.#file.keys[name] = { publicKey, createdAt, sealed: seal(this.#key.reveal(), seed.reveal(), `${name}:${publicKey}`) };
    await this.#save();
    return { name, publicKey: publicKey as StellarAddress, createdAt };
  }

  /** Atomic replace: write a 0600 temp file, fsync, rename. The folder is 0700. */
  async #save(): Promise<void> {
    const dir = this.path.slice(0, this.path.lastIndexOf("/"));
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    const fh = await open(tmp, "wx", 0o600);
    try {
      await fh.writeFile(JSON.stringify(this.#file, null, 2));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.path);
  }
}
