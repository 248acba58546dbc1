/**
 * Only the owner can move money, against anyone who can reach NATS.
 *
 * 1. A second local user (an ordinary uid, created here; CI runs as root) attacks a default set-up
 *    — the embedded nats-server of a state directory — with nothing but what any local user has:
 *    the port, node, and the filesystem. Every attempt is refused.
 * 2. The server itself enforces each identity's permissions: the runtime cannot write a mandate or
 *    touch the ledger's history, the viewer cannot write anything, the owner cannot write memory.
 * 3. Someone with full access to NATS (a stolen admin credential, root on the NATS host) rewrites
 *    records, forges, replays and expires mandates, deletes, truncates and re-hashes the ledger:
 *    nothing is signed, the refusal is on the ledger, the record and the run's events, and
 *    `ledger verify` exits 1 naming what disagrees.
 */
import { spawnSync } from "node:child_process";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kvm, type KV } from "@nats-io/kv";
import { nkeys } from "@nats-io/transport-node";
import { Keypair } from "@stellar/stellar-sdk";
import { provisionLayout } from "../../src/app/backbone.ts";
import { main } from "../../src/cli/main.ts";
import { loadTrust, ownerLedger, runtimeLedger, type Trust } from "../../src/app/trust.ts";
import { NatsRole } from "../../src/nats/auth.ts";
import { openBackbone, type Backbone } from "../../src/nats/backbone.ts";
import { kvStreamName, kvSubjectPrefix, Names } from "../../src/nats/streams.ts";
import { AuditLedger, hashEntry, LedgerEntryType, type LedgerEntry } from "../../src/wallet/ledger.ts";
import { mandateBytes, type SignedMandate } from "../../src/wallet/mandate.ts";
import { PaymentStatus, type PaymentRecord } from "../../src/wallet/payment-record.ts";
import { loadPolicyFile } from "../../src/wallet/policy.ts";
import { Wallet } from "../../src/wallet/wallet.ts";
import { captureIo } from "../cli/capture.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";
import { walletFixture, type WalletFixture } from "./support/fixtures.ts";

const INTRUDER = "vw-intruder";

/** The second local user: created once (idempotent), an ordinary uid with no home and no shell. */
function intruder(): { uid: number; gid: number } {
  if (process.getuid?.() !== 0) throw new Error("the trust-boundary tests create a second local user and run as it: run them as root (CI does)");
  if (spawnSync("id", ["-u", INTRUDER]).status !== 0) {
    const made = spawnSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", INTRUDER], { encoding: "utf8" });
    if (made.status !== 0 && spawnSync("id", ["-u", INTRUDER]).status !== 0) throw new Error(`cannot create user ${INTRUDER}: ${made.stderr}`);
  }
  const uid = Number(spawnSync("id", ["-u", INTRUDER], { encoding: "utf8" }).stdout.trim());
  const gid = Number(spawnSync("id", ["-g", INTRUDER], { encoding: "utf8" }).stdout.trim());
  expect(uid).toBeGreaterThan(0);
  return { uid, gid };
}

/**
 * What the intruder runs: plain node, no project code (the checkout may not be readable to
 * others). It tries the files, then speaks the NATS protocol on the port: CONNECT with no
 * credentials, and publishes a mandate, a ledger entry and a memory file.
 */
const ATTACK = String.raw`
const fs = require("node:fs"), net = require("node:net");
const [port, state, pid, id] = process.argv.slice(2);
const out = { files: {}, nats: "" };
for (const f of ["identities/runtime.nk", "identities/viewer.nk", "identities/owner.json", "nats/nats-server.conf", "nats/server.json", "nats/jetstream", "ledger"]) {
  try { fs.statSync(state + "/" + f).isDirectory() ? fs.readdirSync(state + "/" + f) : fs.readFileSync(state + "/" + f); out.files[f] = "READ"; }
  catch (e) { out.files[f] = e.code; }
}
try { fs.readFileSync("/proc/" + pid + "/environ"); out.files.environ = "READ"; } catch (e) { out.files.environ = e.code; }
const s = net.connect(Number(port), "127.0.0.1");
let sent = false;
s.on("data", (d) => {
  out.nats += d.toString();
  // After the server's INFO: CONNECT with no credentials; if it were accepted (PONG), three
  // writes that decide money or power.
  if (!sent && out.nats.includes("\r\n")) {
    sent = true;
    s.write('CONNECT {"verbose":false,"pedantic":false,"protocol":1,"name":"intruder"}\r\nPING\r\n');
  } else if (out.nats.includes("PONG") && sent !== "pub") {
    sent = "pub";
    s.write("PUB ${kvSubjectPrefix(Names.mandatesBucket)}.m." + id + " 2\r\n{}\r\n");
    s.write("PUB ${Names.ledgerSubject} 2\r\n{}\r\n");
    s.write("PUB ${kvSubjectPrefix(Names.memoryBucket)}.x 2\r\n{}\r\nPING\r\n");
  }
});
const done = () => { console.log(JSON.stringify(out)); process.exit(0); };
// The server hangs up on a refused client; a write racing that is EPIPE/ECONNRESET, not a failure.
s.on("error", (e) => { out.error = e.code; });
s.on("close", done);
setTimeout(done, 10000).unref();
`;

describe("a second local user against a default set-up", () => {
  let state: string;
  let runtime: Backbone;
  let wallet: Wallet;
  let fx: WalletFixture;
  let id: string;

  beforeAll(async () => {
    intruder();
    fx = await walletFixture();
    state = fx.dir; // the owner's state directory (0700), as the set-up makes it
    const env = { ...fx.env, VIBEWRITER_POLICY: fx.policyPath };
    runtime = await openBackbone({ env, stateDir: state, role: NatsRole.Runtime, name: "runtime", provision: provisionLayout });
    const trust = await loadTrust(env);
    wallet = await Wallet.open({ nats: runtime, policy: fx.policy, signer: await fx.signer(), ownerPublicKey: trust.ownerPublicKey, ledger: await runtimeLedger(env, trust) });
    id = "p-local-1";
    expect((await wallet.propose({ id, destination: fx.alice, asset: "XLM", amount: "25", requestedBy: "t-local" })).record.status).toBe(PaymentStatus.PendingApproval);
  }, 60_000);
  afterAll(async () => {
    await runtime?.close();
    await fx?.cleanup();
  });

  it("cannot read the keys, the store or our environment, cannot connect to NATS, and nothing changes", async () => {
    const { uid, gid } = intruder();
    const dir = await mkdtemp(join(tmpdir(), "vw-intruder-"));
    try {
      await chmod(dir, 0o755);
      await writeFile(join(dir, "attack.cjs"), ATTACK, { mode: 0o644 });
      const port = runtime.nc.info!.port;
      const r = spawnSync(process.execPath, [join(dir, "attack.cjs"), String(port), state, String(process.pid), id], {
        uid,
        gid,
        encoding: "utf8",
        env: { PATH: "/usr/bin:/bin" },
        timeout: 30_000,
      });
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { files: Record<string, string>; nats: string; error?: string };
      expect([undefined, "EPIPE", "ECONNRESET"]).toContain(out.error);
      // Every file under the state directory is out of reach, and so is our process's environment.
      expect(Object.entries(out.files).filter(([, v]) => v === "READ")).toEqual([]);
      expect(out.files["identities/runtime.nk"]).toBe("EACCES");
      expect(out.files.environ).toBe("EACCES");
      // The server greets (INFO says auth is required) and refuses the anonymous CONNECT.
      expect(out.nats).toMatch(/^INFO \{.*"auth_required":true/);
      expect(out.nats).toContain("-ERR 'Authorization Violation'");
      expect(out.nats).not.toContain("PONG");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    // Nothing reached NATS: the payment still waits for the owner, no mandate, no memory.
    expect((await wallet.get(id))!.status).toBe(PaymentStatus.PendingApproval);
    expect(await wallet.mandate(id)).toBeUndefined();
    const memory = await new Kvm(runtime.js).open(Names.memoryBucket);
    expect(await memory.get("x")).toBeNull();
  });

  it("`NATS_URL=… vibewriter approve ID` from another account, with an owner key of its own, is refused", async () => {
    // What a local user can do from their own account: make their own "owner" key, point at the port.
    const own = await mkdtemp(join(tmpdir(), "vw-other-user-"));
    try {
      const theirs = { PATH: process.env.PATH, VIBEWRITER_STATE_DIR: own, NATS_URL: `nats://127.0.0.1:${runtime.nc.info!.port}`, VIBEWRITER_OWNER_PASSPHRASE: "their passphrase", VIBEWRITER_POLICY: fx.policyPath };
      expect(await main(["owner", "init"], captureIo(theirs))).toBe(0);
      const io = captureIo(theirs);
      expect(await main(["approve", id], io)).toBe(1);
      expect(io.err()).toMatch(/cannot connect to NATS .*Authorization Violation/);
    } finally {
      await rm(own, { recursive: true, force: true });
    }
    expect((await wallet.get(id))!.status).toBe(PaymentStatus.PendingApproval);
  });
});

describe("the server enforces each identity's permissions", () => {
  let fx: WalletFixture;
  const opened: Backbone[] = [];
  beforeAll(async () => {
    fx = await walletFixture();
  }, 60_000);
  afterAll(async () => {
    for (const b of opened.reverse()) await b.close();
    await fx?.cleanup();
  });
  const open = async (role: NatsRole) => {
    const b = await openBackbone({ env: fx.env, stateDir: fx.dir, role, name: role, ownerSeed: role === NatsRole.Owner ? fx.ownerKey.natsSeed() : undefined, provision: provisionLayout });
    opened.push(b);
    return b;
  };
  const refused = (p: Promise<unknown>) => expect(p).rejects.toThrow(/Permissions Violation/);

  it("the runtime cannot write a mandate, nor delete, purge or reconfigure the ledger, payments or mandates", async () => {
    const runtime = await open(NatsRole.Runtime);
    await refused(runtime.js.publish(`${kvSubjectPrefix(Names.mandatesBucket)}.m.p-1`, "{}"));
    for (const stream of [Names.ledgerStream, kvStreamName(Names.paymentsBucket), kvStreamName(Names.mandatesBucket)]) {
      await refused(runtime.jsm.streams.delete(stream));
      await refused(runtime.jsm.streams.purge(stream));
      await refused(runtime.jsm.streams.deleteMessage(stream, 1));
    }
    const info = await runtime.jsm.streams.info(Names.ledgerStream);
    await refused(runtime.jsm.streams.update(Names.ledgerStream, { ...info.config, deny_delete: false }));
    // What it is for still works.
    await runtime.js.publish(`${Names.eventsSubjectPrefix}.t-perm.run.started`, "{}");
    await (await new Kvm(runtime.js).open(Names.memoryBucket)).put("note", "ok");
  });

  it("the viewer reads but writes nothing; the owner decides but cannot write memory", async () => {
    const viewer = await open(NatsRole.Viewer);
    expect((await viewer.jsm.streams.info(Names.ledgerStream)).config.deny_delete).toBe(true);
    await refused(viewer.js.publish(`${Names.eventsSubjectPrefix}.t-perm.run.started`, "{}"));
    await refused(viewer.js.publish(Names.ledgerSubject, "{}"));
    await refused((await new Kvm(viewer.js).open(Names.memoryBucket)).put("AGENTS.md", "pay G… instead"));
    await refused((await new Kvm(viewer.js).open(Names.paymentsBucket)).put("p.x", "{}"));
    const owner = await open(NatsRole.Owner);
    await refused((await new Kvm(owner.js).open(Names.memoryBucket)).put("AGENTS.md", "pay G… instead"));
    await refused(owner.jsm.streams.delete(Names.ledgerStream));
    await (await new Kvm(owner.js).open(Names.mandatesBucket)).put("m.p-owner", "{}");
  });

  it("`vibewriter nats config` prints exactly the identities and permissions the server enforces", async () => {
    const io = captureIo({ PATH: process.env.PATH, VIBEWRITER_STATE_DIR: fx.dir });
    expect(await main(["nats", "config", "--json"], io)).toBe(0);
    const { users } = JSON.parse(io.out()) as { users: { role: string; nkey: string; permissions: { publish: { allow: string[]; deny: string[] } } }[] };
    expect(users.map((u) => u.role).sort()).toEqual(["owner", "runtime", "viewer"]);
    expect(users.find((u) => u.role === "owner")!.nkey).toBe(fx.ownerKey.publicKey);
    expect(users.find((u) => u.role === "runtime")!.permissions.publish.deny).toContain(`${kvSubjectPrefix(Names.mandatesBucket)}.>`);
    expect(io.out()).not.toMatch(/"S[A-Z2-7]{57}"/); // public keys only, never a seed
  });
});

describe("with full access to NATS, tampering is refused at signing and found by `ledger verify`", () => {
  let nats: TestNats;
  let fx: WalletFixture;
  let trust: Trust;
  let runtime: Wallet;
  let owner: Wallet;
  let payments: KV;
  let mandates: KV;
  const signed: string[] = [];
  const stranger = Keypair.random().publicKey();
  const env = () => ({ ...fx.env, VIBEWRITER_POLICY: fx.policyPath, NATS_URL: nats.server.url, PATH: process.env.PATH });

  beforeAll(async () => {
    nats = await startTestNats(); // no authentication: the attacker has everything NATS can give
    // A wide rolling window: these tests approve many payments of 25.
    fx = await walletFixture({ perTransaction: "50", window: "100000", approvalAbove: "20" });
    trust = await loadTrust(env());
    runtime = await Wallet.open({
      nats: nats.backbone,
      policy: fx.policy,
      signer: (await fx.signer()).observed((h) => signed.push(h)),
      ownerPublicKey: trust.ownerPublicKey,
      ledger: await runtimeLedger(env(), trust),
    });
    owner = await Wallet.open({ nats: nats.backbone, policy: fx.policy, ownerKey: fx.ownerKey, ownerPublicKey: fx.ownerKey.publicKey, ledger: ownerLedger(env(), trust, fx.ownerKey) });
    payments = await new Kvm(nats.backbone.js).open(Names.paymentsBucket);
    mandates = await new Kvm(nats.backbone.js).open(Names.mandatesBucket);
  }, 60_000);
  afterAll(async () => {
    await nats?.close();
    await fx?.cleanup();
  });

  /** A payment of 25 XLM to the allowlisted editor, proposed by the runtime and approved by the owner. */
  async function approved(id: string, memo?: string): Promise<PaymentRecord> {
    await runtime.propose({ id, destination: fx.alice, asset: "XLM", amount: "25", memo, requestedBy: "t-tamper" });
    return owner.approve(id, "cli:owner");
  }
  const rewrite = async (id: string, change: (r: PaymentRecord) => PaymentRecord) => {
    const e = (await payments.get(`p.${id}`))!;
    await payments.put(`p.${id}`, JSON.stringify(change(e.json<PaymentRecord>())));
  };
  async function expectRefused(id: string, why: RegExp) {
    const before = signed.length;
    await expect(runtime.execute(id)).rejects.toMatchObject({ code: "tamper_detected", message: expect.stringMatching(why) });
    expect(signed.length).toBe(before); // nothing signed
    const record = (await runtime.get(id))!;
    expect(record.status).toBe(PaymentStatus.Refused);
    expect(record.refusal?.reason).toMatch(why);
    const tamper = (await runtime.ledger.entriesFor(id)).filter((e) => e.type === LedgerEntryType.Tamper);
    expect(tamper.at(-1)?.data.reason).toMatch(why);
  }

  it("the untouched path still works: approved by the owner's mandate, signed once", async () => {
    await approved("p-ok");
    expect((await runtime.execute("p-ok")).status).toBe(PaymentStatus.Signed);
    expect(signed).toHaveLength(1);
  });

  it.each([
    ["destination", (r: PaymentRecord) => ({ ...r, destination: stranger }), /destination/],
    ["amount", (r: PaymentRecord) => ({ ...r, amount: "5000" }), /amount/],
    ["asset", (r: PaymentRecord) => ({ ...r, asset: `USDC:${stranger}` }), /asset/],
    ["memo", (r: PaymentRecord) => ({ ...r, memo: "pay the other one" }), /memo/],
  ])("an approved record rewritten (%s) is not signed", async (field, change, why) => {
    const id = `p-rw-${field}`;
    await approved(id);
    await rewrite(id, change);
    await expectRefused(id, why);
  });

  it("the 5000 XLM to an unlisted address, with a decision and a 'mandate' forged to match, is not signed", async () => {
    await approved("p-forge");
    await rewrite("p-forge", (r) => ({ ...r, destination: stranger, amount: "5000" }));
    // The attacker also writes a decision and a mandate for the new terms, signed with their own keys.
    const evil = nkeys.createUser();
    const forged: SignedMandate = {
      mandate: { v: 1, paymentId: "p-forge", destination: stranger, asset: "XLM", amount: "5000", memo: null, decision: "approve", policyVersion: "x", issuedAt: new Date().toISOString(), expiresAt: "2099-01-01T00:00:00Z", owner: evil.getPublicKey(), note: null },
      signature: "",
    };
    forged.signature = Buffer.from(evil.sign(mandateBytes(forged.mandate))).toString("base64");
    await mandates.put("m.p-forge", JSON.stringify(forged));
    const attackerLedger = await AuditLedger.open(nats.backbone, { signer: { publicKey: evil.getPublicKey(), sign: (d) => evil.sign(d) } });
    await attackerLedger.append(LedgerEntryType.Decision, "p-forge", { outcome: "allow", rule: null, reason: null, destination: stranger, asset: "XLM", amount: "5000", memo: null });
    await expectRefused("p-forge", /disagree with the ledgered decision/);
  });

  it("a mandate copied from another payment, or signed by another key, is refused", async () => {
    await runtime.propose({ id: "p-nomandate", destination: fx.alice, asset: "XLM", amount: "30", requestedBy: "t-tamper" });
    // Replay: the owner's genuine mandate for p-ok, stored under p-nomandate, and the status flipped.
    await mandates.put("m.p-nomandate", (await mandates.get("m.p-ok"))!.string());
    await rewrite("p-nomandate", (r) => ({ ...r, status: PaymentStatus.Approved }));
    await expectRefused("p-nomandate", /it is the mandate of payment p-ok/);

    await runtime.propose({ id: "p-strange-key", destination: fx.alice, asset: "XLM", amount: "30", requestedBy: "t-tamper" });
    const evil = nkeys.createUser();
    const m = { ...(await mandates.get("m.p-ok"))!.json<SignedMandate>().mandate, paymentId: "p-strange-key", amount: "30", owner: evil.getPublicKey() };
    await mandates.put("m.p-strange-key", JSON.stringify({ mandate: m, signature: Buffer.from(evil.sign(mandateBytes(m))).toString("base64") }));
    await rewrite("p-strange-key", (r) => ({ ...r, status: PaymentStatus.Approved }));
    await expectRefused("p-strange-key", /not by the owner/);
  });

  it("an expired mandate, or one given under another policy, is refused", async () => {
    const clock = { now: Date.now() };
    const late = await Wallet.open({
      nats: nats.backbone,
      policy: fx.policy,
      signer: (await fx.signer()).observed((h) => signed.push(h)),
      ownerPublicKey: trust.ownerPublicKey,
      ledger: await runtimeLedger(env(), trust),
      clock: () => new Date(clock.now),
    });
    await approved("p-expired");
    clock.now += 25 * 3_600_000; // mandates last 24 h
    const before = signed.length;
    await expect(late.execute("p-expired")).rejects.toMatchObject({ code: "tamper_detected", message: expect.stringMatching(/mandate expired/) });
    expect(signed.length).toBe(before);

    await approved("p-oldpolicy");
    const tighter = join(fx.dir, "policy-2.yaml");
    await writeFile(tighter, (await import("node:fs")).readFileSync(fx.policyPath, "utf8").replace('perTransaction: "50"', 'perTransaction: "40"'));
    const changed = await Wallet.open({
      nats: nats.backbone,
      policy: await loadPolicyFile(tighter),
      signer: (await fx.signer()).observed((h) => signed.push(h)),
      ownerPublicKey: trust.ownerPublicKey,
      ledger: await runtimeLedger(env(), trust),
    });
    await expect(changed.execute("p-oldpolicy")).rejects.toMatchObject({ code: "tamper_detected", message: expect.stringMatching(/another version of the policy/) });
    expect(signed.length).toBe(before);
  });

  it("a signed payment set back to 'approved' is never signed a second time", async () => {
    await approved("p-twice");
    await runtime.execute("p-twice");
    const count = signed.length;
    await rewrite("p-twice", (r) => ({ ...r, status: PaymentStatus.Approved, unsignedXdr: undefined, envelopeXdr: undefined, txHash: undefined }));
    await expectRefused("p-twice", /another transaction .* was already signed/);
    expect(signed.length).toBe(count);
  });

  it("`payments` shows each refusal, and the ledger's meaning holds: intact, with the attempts on record", async () => {
    const list = captureIo(env());
    expect(await main(["payments"], list)).toBe(0);
    expect(list.out()).toMatch(/p-rw-amount {2}refused .* REFUSED, nothing signed: the transaction's amount disagree/);
    const io = captureIo(env());
    // The attacker's own decision entry (p-forge) is signed by a stranger: verify names it.
    expect(await main(["ledger", "verify", "--json"], io)).toBe(1);
    const result = JSON.parse(io.out()) as { ok: boolean; tamperAttempts: number; problems: { kind: string; detail: string }[] };
    expect(result.tamperAttempts).toBeGreaterThanOrEqual(9);
    expect(result.problems).toEqual([expect.objectContaining({ kind: "unsigned", detail: expect.stringContaining("signed by U") })]);
  });

  it("a ledger entry that claims an approval without the owner's mandate is flagged by its meaning", async () => {
    const forgedApproval = await AuditLedger.open(nats.backbone, await runtimeLedger(env(), trust));
    await runtime.propose({ id: "p-claimed", destination: fx.alice, asset: "XLM", amount: "30", requestedBy: "t-tamper" });
    await forgedApproval.append(LedgerEntryType.Approval, "p-claimed", { by: "cli:owner", note: null });
    const io = captureIo(env());
    expect(await main(["ledger", "verify"], io)).toBe(1);
    expect(io.out()).toMatch(/unauthorized: entry \d+ \(approval of p-claimed\): carries no valid owner mandate/);
  });

  describe("the ledger's history, rewritten by someone who can delete streams", () => {
    let genuine: LedgerEntry[];
    const verify = async () => {
      const io = captureIo(env());
      const code = await main(["ledger", "verify"], io);
      return { code, out: io.out() };
    };
    const republish = async (entries: LedgerEntry[]) => {
      const info = await nats.backbone.jsm.streams.info(Names.ledgerStream);
      // deny_delete stops the API's deletes; an admin deletes the whole stream and recreates it.
      await nats.backbone.jsm.streams.delete(Names.ledgerStream);
      await nats.backbone.jsm.streams.add(info.config);
      for (const e of entries) await nats.backbone.js.publish(Names.ledgerSubject, JSON.stringify(e));
    };
    beforeAll(async () => {
      genuine = await runtime.ledger.entries();
      expect(genuine.length).toBeGreaterThan(20);
    });

    it("a deleted stream", async () => {
      await republish([]);
      const { code, out } = await verify();
      expect(code).toBe(1);
      expect(out).toMatch(/anchor_mismatch: the anchor outside NATS records entry \d+ .* but the chain is empty/);
    });

    it("a truncated tail (genuine, signed entries, just fewer)", async () => {
      await republish(genuine.slice(0, 10));
      const { code, out } = await verify();
      expect(code).toBe(1);
      expect(out).toMatch(/but the chain ends at entry 9: entries were deleted or the tail truncated/);
    });

    it("a re-hashed chain (one entry changed, every later hash recomputed)", async () => {
      const rehashed: LedgerEntry[] = [];
      for (const [i, e] of genuine.entries()) {
        const body = { ...e, prev: i === 0 ? e.prev : rehashed[i - 1]!.hash, data: i === 3 ? { ...e.data, amount: "5000" } : e.data };
        delete (body as Partial<LedgerEntry>).hash;
        rehashed.push({ ...(body as Omit<LedgerEntry, "hash">), hash: hashEntry(body) });
      }
      await republish(rehashed);
      const { code, out } = await verify();
      expect(code).toBe(1);
      expect(out).toMatch(/unsigned: entry 3 .* its signature is forged/);
      expect(out).toMatch(/anchor_mismatch: entry \d+ has hash .* the chain was rewritten/);
    });

    it("and the genuine chain, put back, agrees with the anchor again", async () => {
      await republish(genuine);
      const { out } = await verify();
      expect(out).not.toMatch(/anchor_mismatch/);
    });
  });
});
