/**
 * The NATS identities of one installation, kept in `<state dir>/identities/` (mode 0700):
 * - `runtime.nk`, `viewer.nk`: nkey seeds (mode 0600), created on first use;
 * - `owner.json`: the owner's key, sealed with the owner's passphrase (src/wallet/owner-key.ts);
 *   only its public key is read here, to let the owner's identity into the embedded server.
 * The seeds never leave the host process: children get a minimal environment and no file.
 */
import { randomUUID } from "node:crypto";
import { chmod, link, mkdir, open, readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { nkeys } from "@nats-io/transport-node";
import { NatsRole, type NatsUser } from "./auth.ts";
import { publicKeyOfUserSeed } from "./nkey-crypto.ts";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";

export const IDENTITIES_DIR = "identities";
export const OWNER_KEY_FILE = "owner.json";

/** A usable identity: the seed signs the server's nonce (and ledger entries, for the runtime). */
export interface NatsIdentity {
  role: NatsRole;
  publicKey: string;
  seed: Uint8Array;
}

export function identitiesDir(stateDir: string): string {
  return join(stateDir, IDENTITIES_DIR);
}

/** The runtime's or the viewer's identity, created (0600, atomically) when absent. */
export async function loadOrCreateIdentity(stateDir: string, role: typeof NatsRole.Runtime | typeof NatsRole.Viewer): Promise<NatsIdentity> {
  const dir = identitiesDir(stateDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const file = join(dir, `${role}.nk`);
  let text = await readFile(file, "utf8").catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return undefined;
    throw new NatsBackboneError(NatsErrorCode.InvalidArgument, `cannot read the ${role} identity ${file}: ${e.code}`, { cause: e });
  });
  if (text === undefined) {
    const seed = new TextDecoder().decode(nkeys.createUser().getSeed());
    // Racing creators: the first one wins, and every one reads the winner's key.
    await createFileOnce(file, seed + "\n");
    text = await readFile(file, "utf8");
  }
  const seed = new TextEncoder().encode(text.trim());
  let publicKey: string;
  try {
    publicKey = publicKeyOfUserSeed(seed);
  } catch (cause) {
    throw new NatsBackboneError(NatsErrorCode.InvalidArgument, `${file} does not hold an nkey user seed`, { cause });
  }
  return { role, publicKey, seed };
}

/**
 * Writes `text` to `file` (mode 0600, synced) only if `file` does not exist yet; false if it did.
 * A whole file appears at once (written aside, then hard-linked): a key file is never half
 * written, never replaced, and of racing creators exactly one wins.
 */
export async function createFileOnce(file: string, text: string): Promise<boolean> {
  const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  const fh = await open(tmp, "wx", 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await link(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    return false;
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

/** The owner's public key (`U…`), when the owner has created their key. */
export async function ownerPublicKey(stateDir: string): Promise<string | undefined> {
  const file = join(identitiesDir(stateDir), OWNER_KEY_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  const key = (JSON.parse(text) as { publicKey?: unknown }).publicKey;
  if (typeof key !== "string" || !isUserKey(key)) throw new NatsBackboneError(NatsErrorCode.InvalidArgument, `${file} holds no valid owner public key`);
  return key;
}

export function isUserKey(key: string): boolean {
  try {
    return key.startsWith("U") && nkeys.fromPublic(key).getPublicKey() === key;
  } catch {
    return false;
  }
}

/** The users the embedded server admits: runtime and viewer always, the owner once their key exists. */
export async function embeddedUsers(stateDir: string): Promise<NatsUser[]> {
  const users: NatsUser[] = [];
  for (const role of [NatsRole.Runtime, NatsRole.Viewer] as const) {
    users.push({ role, nkey: (await loadOrCreateIdentity(stateDir, role)).publicKey });
  }
  const owner = await ownerPublicKey(stateDir);
  if (owner) users.push({ role: NatsRole.Owner, nkey: owner });
  return users;
}
