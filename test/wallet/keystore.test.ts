import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { Keypair } from "@stellar/stellar-sdk";
import { WalletError } from "../../src/wallet/errors.ts";
import { Keystore, WalletEnv } from "../../src/wallet/keystore.ts";
import { Secret } from "../../src/wallet/secret.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "vw-keystore-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return WalletError.isInstance(e) ? e.code : `non-wallet error: ${String(e)}`;
  }
  return "no error";
};

describe("keystore", () => {
  it("fails closed when neither a passphrase nor a master key is set, and creates no file", async () => {
    expect(await codeOf(Keystore.open({ env: { VIBEWRITER_STATE_DIR: dir } }))).toBe("wallet_locked");
    await expect(stat(join(dir, "wallet"))).rejects.toThrow(/ENOENT/);
  });

  it("defaults to stateDir()/wallet/keystore.json with mode 0600 in a 0700 folder", async () => {
    const ks = await Keystore.open({ env: { VIBEWRITER_STATE_DIR: dir, [WalletEnv.Passphrase]: "correct horse" } });
    await ks.create();
    expect(ks.path).toBe(join(dir, "wallet", "keystore.json"));
    expect((await stat(ks.path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, "wallet"))).mode & 0o777).toBe(0o700);
  });

  it("stores an imported seed encrypted: the file holds neither the seed nor its raw bytes", async () => {
    const kp = Keypair.random();
    const env = { [WalletEnv.Passphrase]: "correct horse battery staple" };
    const ks = await Keystore.open({ dir, env });
    const info = await ks.import("main", new Secret(kp.secret()));
    expect(info.publicKey).toBe(kp.publicKey());
    const text = await readFile(ks.path, "utf8");
    expect(text).not.toContain(kp.secret());
    expect(text).not.toContain(Buffer.from(kp.rawSecretKey()).toString("base64"));
    expect(text).not.toContain(Buffer.from(kp.rawSecretKey()).toString("hex"));
    expect(text).toContain(kp.publicKey());

    const reopened = await Keystore.open({ dir, env });
    const signer = reopened.signer("main");
    expect(signer.publicKey).toBe(kp.publicKey());
  });

  it("a wrong passphrase or the wrong kind of key cannot open it", async () => {
    await (await Keystore.open({ dir, env: { [WalletEnv.Passphrase]: "right" } })).create();
    expect(await codeOf(Keystore.open({ dir, env: { [WalletEnv.Passphrase]: "wrong" } }))).toBe("wallet_bad_key");
    expect(await codeOf(Keystore.open({ dir, env: { [WalletEnv.MasterKey]: "11".repeat(32) } }))).toBe("wallet_bad_key");
  });

  it("works with a master key from the environment and refuses a malformed one", async () => {
    const key = Buffer.alloc(32, 7).toString("base64");
    const ks = await Keystore.open({ dir, env: { [WalletEnv.MasterKey]: key } });
    const { publicKey } = await ks.create("ops");
    expect((await Keystore.open({ dir, env: { [WalletEnv.MasterKey]: key } })).signer("ops").publicKey).toBe(publicKey);
    expect(await codeOf(Keystore.open({ dir, env: { [WalletEnv.MasterKey]: Buffer.alloc(32, 8).toString("hex") } }))).toBe("wallet_bad_key");
    expect(await codeOf(Keystore.open({ dir: join(dir, "x"), env: { [WalletEnv.MasterKey]: "too short" } }))).toBe("wallet_bad_key");
  });

  it("detects a tampered ciphertext", async () => {
    const env = { [WalletEnv.Passphrase]: "p" };
    const ks = await Keystore.open({ dir, env });
    await ks.create();
    const file = JSON.parse(await readFile(ks.path, "utf8"));
    const data = Buffer.from(file.keys.default.sealed.data, "base64");
    data[0] ^= 1;
    file.keys.default.sealed.data = data.toString("base64");
    await writeFile(ks.path, JSON.stringify(file));
    const reopened = await Keystore.open({ dir, env });
    expect(await codeOf(Promise.resolve().then(() => reopened.signer()))).toBe("keystore_corrupt");
  });

  it("refuses duplicates, bad names and invalid seeds without echoing the seed", async () => {
    const ks = await Keystore.open({ dir, env: { [WalletEnv.Passphrase]: "p" } });
    await ks.create();
    expect(await codeOf(ks.create())).toBe("key_exists");
    expect(await codeOf(ks.create("../etc"))).toBe("invalid_key");
    // The last character changed (to A, or to B when it was an A): the checksum no longer matches.
    const seed = Keypair.random().secret();
    const almost = seed.slice(0, 55) + (seed.endsWith("A") ? "B" : "A");
    let msg = "";
    try {
      await ks.import("x", new Secret(almost));
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/not a valid Stellar secret seed/);
    expect(msg).not.toContain(almost.slice(0, 20));
  });

  it("signers and secrets print as redacted everywhere", async () => {
    const kp = Keypair.random();
    const ks = await Keystore.open({ dir, env: { [WalletEnv.Passphrase]: "p" } });
    await ks.import("main", new Secret(kp.secret()));
    const signer = ks.signer("main");
    const secret = new Secret(kp.secret());
    const renderings = [
      String(secret), `${secret}`, JSON.stringify({ secret }), inspect(secret), inspect({ nested: { secret } }, { depth: 9 }),
      String(signer), JSON.stringify({ signer }), inspect(signer, { showHidden: true, depth: 9 }), inspect(ks, { showHidden: true, depth: 9 }),
      JSON.stringify(ks),
    ];
    for (const r of renderings) expect(r).not.toContain(kp.secret());
    expect(inspect(signer)).toContain(kp.publicKey());
  });
});
