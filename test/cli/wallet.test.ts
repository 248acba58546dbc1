import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Keypair } from "@stellar/stellar-sdk";
import { main } from "../../src/cli/main.ts";
import { captureIo } from "./capture.ts";
import { spawnCli } from "./child.ts";

describe("vibewriter wallet", () => {
  let state: string;
  const PASS = "correct horse battery staple 42";
  beforeAll(async () => {
    state = await mkdtemp(join(tmpdir(), "vw-wallet-"));
  });
  afterAll(async () => {
    await rm(state, { recursive: true, force: true });
  });
  const env = (extra: Record<string, string> = {}) => ({ PATH: process.env.PATH, VIBEWRITER_STATE_DIR: state, ...extra });

  it("refuses to create a key while locked (fail closed), saying what to set", async () => {
    const io = captureIo(env());
    expect(await main(["wallet", "create"], io)).toBe(1);
    expect(io.err()).toMatch(/wallet is locked: set VIBEWRITER_WALLET_PASSPHRASE or VIBEWRITER_WALLET_KEY/);
  });

  it("create prints only the public key; show lists it and the missing policy", async () => {
    const io = captureIo(env({ VIBEWRITER_WALLET_PASSPHRASE: PASS }));
    expect(await main(["wallet", "create", "--json"], io)).toBe(0);
    const key = JSON.parse(io.out()) as { name: string; publicKey: string };
    expect(key.name).toBe("default");
    expect(key.publicKey).toMatch(/^G[A-Z2-7]{55}$/);
    expect(io.out() + io.err()).not.toMatch(/\bS[A-Z2-7]{55}\b/); // no seed anywhere

    const show = captureIo(env({ VIBEWRITER_WALLET_PASSPHRASE: PASS }));
    expect(await main(["wallet", "show"], show)).toBe(0);
    expect(show.out()).toMatch(/^wallet: unlocked\nkeys:\n {2}default {2}G/);
    expect(show.out()).toContain(key.publicKey);
    expect(show.out()).toMatch(/problem: .*every payment is denied/);
    expect(show.out() + show.err()).not.toContain(PASS);
  });

  it("import reads the seed from stdin, never echoes it", async () => {
    const kp = Keypair.random();
    const child = spawnCli(["wallet", "import", "cold"], env({ VIBEWRITER_WALLET_PASSPHRASE: PASS }), { stdin: true });
    child.child.stdin?.end(kp.secret() + "\n");
    const { code } = await child.exited;
    expect(code, child.stderr()).toBe(0);
    expect(child.stdout()).toBe(`Imported wallet key "cold": ${kp.publicKey()}\n`);
    expect(child.stdout() + child.stderr()).not.toContain(kp.secret());
    // At rest it is encrypted: the keystore file does not hold the seed in clear.
    const file = await readFile(join(state, "wallet", "keystore.json"), "utf8");
    expect(file).toContain(kp.publicKey());
    expect(file).not.toContain(kp.secret());
  });

  it("import of something that is not a seed is refused without echoing it", async () => {
    const child = spawnCli(["wallet", "import", "junk"], env({ VIBEWRITER_WALLET_PASSPHRASE: PASS }), { stdin: true });
    child.child.stdin?.end("SNOTASEEDATALLBUTSECRETISH\n");
    const { code } = await child.exited;
    expect(code).toBe(1);
    expect(child.stderr()).toMatch(/not a valid Stellar secret seed/);
    expect(child.stdout() + child.stderr()).not.toContain("SNOTASEEDATALLBUTSECRETISH");
  });
});
