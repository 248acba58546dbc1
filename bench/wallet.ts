/**
 * Wallet costs on this machine: what a payment adds to an agent step, and what the trust boundary
 * (authenticated NATS identities, signed and anchored ledger, owner-signed mandates) adds to it.
 *
 *   npx tsx bench/wallet.ts [n] [ledger sizes, e.g. 100,1000,5000]
 *
 * Three set-ups run the same payments in one loop, taking turns (the order rotates every payment):
 * - plain: an anonymous nats-server, a ledger that is neither signed nor anchored, no trusted keys
 *   (the set-up of this bench before the trust boundary; `execute` still runs its checks against
 *   the ledger, the spend window and the policy, and a payment above the threshold still needs
 *   the owner's mandate — those cannot be switched off);
 * - signed: the same anonymous server, the runtime's ledger options (`runtimeLedger`: entries signed
 *   by the runtime's key, the head anchored in a file, only trusted keys' entries count) and the
 *   owner's (`ownerLedger`);
 * - default: the default set-up — the embedded nats-server of a state directory with its nkey
 *   identities and permissions (`openBackbone`, runtime and owner connections) and the signed ledger.
 * Ratios: signed / plain = the ledger and mandate checks, default / signed = authentication,
 * default / plain = both.
 *
 * Per set-up: propose and execute of an allowed payment; propose, owner approve (signs a mandate)
 * and execute of a payment above the approval threshold (the mandate is checked twice); the warm
 * `entriesFor` of one proposal. Then, alone: ledger append unsigned / signed / signed + anchored;
 * ledger verify per entry, chain only vs signatures + anchor + meaning (the viewer's options);
 * mandate sign and verify; ed25519 through nkeys (what signs and verifies all of the above) and
 * through node:crypto, for scale; owner key and keystore unlock (scrypt); policy evaluate.
 *
 * Ledger size: before the rest, the plain and default ledgers are filled (with signed proposal
 * entries, by the runtime's own ledger) to each size, and a fresh Wallet (cold `entriesFor` cache:
 * it reads the whole ledger once) executes a payment, beside the warm Wallet executing another.
 *
 * Prints tables (medians) and one JSON line; the keys of the earlier version (policy_evaluate,
 * propose_allowed_, execute_sign_, ledger_append, ledger_verify_entry, keystore_unlock) keep their
 * meaning: the plain set-up.
 */
import { generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { nkeys } from "@nats-io/transport-node";
import { Keypair } from "@stellar/stellar-sdk";
import { provisionLayout } from "../src/app/backbone.ts";
import { loadTrust, ownerLedger, runtimeLedger, viewerLedger, type Trust } from "../src/app/trust.ts";
import { NatsRole } from "../src/nats/auth.ts";
import { openBackbone, type Backbone } from "../src/nats/backbone.ts";
import { parseStellarAddress } from "../src/wallet/address.ts";
import { parseAmount } from "../src/wallet/amount.ts";
import { NATIVE_ASSET } from "../src/wallet/asset.ts";
import { Keystore, WalletEnv } from "../src/wallet/keystore.ts";
import { FileLedgerAnchor } from "../src/wallet/ledger-anchor.ts";
import { AuditLedger, LedgerEntryType, type LedgerOptions } from "../src/wallet/ledger.ts";
import { MandateDecision, signMandate, verifyMandate, type Mandate } from "../src/wallet/mandate.ts";
import { createOwnerKey, OwnerEnv, unlockOwnerKey, type OwnerKey } from "../src/wallet/owner-key.ts";
import { PaymentStatus } from "../src/wallet/payment-record.ts";
import { evaluatePolicy, parsePolicy, policyVersion } from "../src/wallet/policy.ts";
import { Secret } from "../src/wallet/secret.ts";
import { Signer } from "../src/wallet/signer.ts";
import { Wallet, type WalletOptions } from "../src/wallet/wallet.ts";
import { startTestNats, type TestNats } from "../test/support/nats.ts";

const N = Number(process.argv[2] ?? 200);
const SIZES = (process.argv[3] ?? "100,1000,5000").split(",").map(Number);
const WARMUP = 10;
/** Every APPROVE_EVERY-th payment of the loop also goes through the owner's approval. */
const APPROVE_EVERY = 4;
const SWEEP_REPS = 3;

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}
const median = (xs: number[]) => quantile(xs, 0.5);
const r4 = (x: number) => Number(x.toFixed(4));
async function timed<T>(f: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await f();
  return { ms: performance.now() - t0, value };
}
async function time(n: number, f: (i: number) => Promise<unknown> | unknown): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < n; i++) t.push((await timed(() => f(i))).ms);
  return median(t);
}
/** Runs `fs` in turns (the order flips every round); medians per entry. */
async function alternate(n: number, fs: ((i: number) => Promise<unknown> | unknown)[]): Promise<number[]> {
  const t: number[][] = fs.map(() => []);
  for (let i = 0; i < n; i++) {
    const order = fs.map((_, k) => k);
    if (i % 2 === 1) order.reverse();
    for (const k of order) t[k].push((await timed(() => fs[k](i))).ms);
  }
  return t.map(median);
}
const progress = (s: string) => process.stderr.write(`${s}\n`);

const SetupName = { Plain: "plain", Signed: "signed", Default: "default" } as const;
type SetupName = (typeof SetupName)[keyof typeof SetupName];

interface Setup {
  name: SetupName;
  nats: { js: JetStreamClient; jsm: JetStreamManager };
  /** Options of the runtime's Wallet (a fresh one is opened for each cold read). */
  walletOpts: WalletOptions;
  wallet: Wallet;
  owner: Wallet;
  ownerKey: OwnerKey;
  dir: string;
  env: NodeJS.ProcessEnv;
  trust?: Trust;
  t: Record<string, number[]>;
}

const servers: TestNats[] = [];
const backbones: Backbone[] = [];
const dirs: string[] = [];
try {
  const alice = parseStellarAddress(Keypair.random().publicKey());
  const policy = parsePolicy({
    version: 1,
    delegation: { expiresAt: "2099-01-01T00:00:00Z" },
    destinations: [alice],
    assets: { XLM: { perTransaction: "50", rollingWindow: { amount: "1000000000", hours: 24 }, approvalAbove: "20" } },
  });
  const signer = new Signer(new Secret(Keypair.random().secret()));

  async function stateDir(name: string) {
    const dir = await mkdtemp(join(tmpdir(), `vw-bench-wallet-${name}-`));
    dirs.push(dir);
    const env = { VIBEWRITER_STATE_DIR: dir, [OwnerEnv.Passphrase]: "bench owner passphrase" };
    // Before any server starts, so that the embedded one admits the owner from the beginning.
    await createOwnerKey(dir, env);
    return { dir, env, ownerKey: await unlockOwnerKey(dir, env) };
  }
  const timings = () => ({}) as Record<string, number[]>;

  // plain: anonymous server, unsigned ledger.
  const plain = await (async (): Promise<Setup> => {
    const { dir, env, ownerKey } = await stateDir("plain");
    const nats = await startTestNats();
    servers.push(nats);
    const walletOpts: WalletOptions = { nats: nats.backbone, policy, signer, ownerPublicKey: ownerKey.publicKey };
    const wallet = await Wallet.open(walletOpts);
    const owner = await Wallet.open({ nats: nats.backbone, policy, ownerKey, ownerPublicKey: ownerKey.publicKey });
    return { name: SetupName.Plain, nats: nats.backbone, walletOpts, wallet, owner, ownerKey, dir, env, t: timings() };
  })();
  // signed: anonymous server, the runtime's and the owner's ledger options.
  const signed = await (async (): Promise<Setup> => {
    const { dir, env, ownerKey } = await stateDir("signed");
    const nats = await startTestNats();
    servers.push(nats);
    const trust = await loadTrust(env);
    const walletOpts: WalletOptions = { nats: nats.backbone, policy, signer, ownerPublicKey: trust.ownerPublicKey, ledger: await runtimeLedger(env, trust) };
    const wallet = await Wallet.open(walletOpts);
    const owner = await Wallet.open({ nats: nats.backbone, policy, ownerKey, ownerPublicKey: ownerKey.publicKey, ledger: ownerLedger(env, trust, ownerKey) });
    return { name: SetupName.Signed, nats: nats.backbone, walletOpts, wallet, owner, ownerKey, dir, env, trust, t: timings() };
  })();
  // default: the embedded server, the runtime and the owner each on their own identity.
  const dflt = await (async (): Promise<Setup> => {
    const { dir, env, ownerKey } = await stateDir("default");
    const runtime = await openBackbone({ stateDir: dir, env: { VIBEWRITER_STATE_DIR: dir }, role: NatsRole.Runtime, name: "bench-runtime", provision: provisionLayout });
    backbones.push(runtime);
    const ownerNats = await openBackbone({ stateDir: dir, env: { VIBEWRITER_STATE_DIR: dir }, role: NatsRole.Owner, ownerSeed: ownerKey.natsSeed(), name: "bench-owner", provision: provisionLayout });
    backbones.push(ownerNats);
    if (runtime.auth !== "nkey" || ownerNats.auth !== "nkey") throw new Error("expected the embedded server with nkey identities");
    const trust = await loadTrust(env);
    const walletOpts: WalletOptions = { nats: runtime, policy, signer, ownerPublicKey: trust.ownerPublicKey, ledger: await runtimeLedger(env, trust) };
    const wallet = await Wallet.open(walletOpts);
    const owner = await Wallet.open({ nats: ownerNats, policy, ownerKey, ownerPublicKey: ownerKey.publicKey, ledger: ownerLedger(env, trust, ownerKey) });
    return { name: SetupName.Default, nats: runtime, walletOpts, wallet, owner, ownerKey, dir, env, trust, t: timings() };
  })();
  const setups = [plain, signed, dflt];
  const record = (s: Setup, key: string, ms: number) => (s.t[key] ??= []).push(ms);
  const med = (s: Setup, key: string) => median(s.t[key] ?? [NaN]);

  let seq = 0;
  const allowed = async (s: Setup, w: Wallet = s.wallet) => {
    const id = `${s.name}-s${seq++}`;
    const p = await w.propose({ id, destination: alice, asset: "XLM", amount: "1", requestedBy: "bench" });
    if (p.record.status !== PaymentStatus.Approved) throw new Error(`${id}: ${p.record.status}`);
    return id;
  };
  const streamSize = async (s: Setup) => (await s.nats.jsm.streams.info(s.wallet.ledger.stream)).state.messages;

  // ---- Ledger size: execute on a fresh Wallet (cold entriesFor) vs the warm one. ----
  const sweep: { size: number; entries: Record<string, number>; cold: Record<string, number>; warm: Record<string, number> }[] = [];
  const swept = [plain, dflt];
  for (const size of SIZES) {
    const entries: Record<string, number> = {};
    for (const s of swept) {
      let n = await streamSize(s);
      const t0 = performance.now();
      const before = n;
      // Leave room for the proposal and decision of the first payment below.
      while (n < size - 2) {
        await s.wallet.ledger.append(LedgerEntryType.Proposal, `fill-${n}`, {
          requested: { destination: alice, asset: "XLM", amount: "1", memo: "" },
          requestedBy: "bench-fill",
          reason: null,
        });
        n++;
      }
      if (n > before) progress(`${s.name}: filled the ledger to ${n} entries (${((performance.now() - t0) / (n - before)).toFixed(2)} ms per append)`);
    }
    const cold: Record<string, number[]> = {};
    const warm: Record<string, number[]> = {};
    for (let r = 0; r < SWEEP_REPS; r++) {
      for (const s of r % 2 === 0 ? swept : [...swept].reverse()) {
        const id = await allowed(s);
        if (r === 0) entries[s.name] = await streamSize(s);
        const fresh = await Wallet.open(s.walletOpts);
        const c = await timed(() => fresh.execute(id));
        if (c.value.status !== PaymentStatus.Signed) throw new Error(`${id}: ${c.value.status}`);
        (cold[s.name] ??= []).push(c.ms);
        const id2 = await allowed(s);
        const w = await timed(() => s.wallet.execute(id2));
        if (w.value.status !== PaymentStatus.Signed) throw new Error(`${id2}: ${w.value.status}`);
        (warm[s.name] ??= []).push(w.ms);
      }
    }
    sweep.push({
      size,
      entries,
      cold: Object.fromEntries(Object.entries(cold).map(([k, v]) => [k, median(v)])),
      warm: Object.fromEntries(Object.entries(warm).map(([k, v]) => [k, median(v)])),
    });
    progress(`ledger size ${size}: done`);
  }

  // ---- Payments, the three set-ups taking turns. ----
  const approvals: Record<string, string[]> = {};
  for (let i = 0; i < N + WARMUP; i++) {
    const k = i % setups.length;
    const order = [...setups.slice(k), ...setups.slice(0, k)];
    const keep = i >= WARMUP;
    for (const s of order) {
      const id = `${s.name}-a${i}`;
      const p = await timed(() => s.wallet.propose({ id, destination: alice, asset: "XLM", amount: "1", requestedBy: "bench" }));
      if (p.value.record.status !== PaymentStatus.Approved) throw new Error(`${id}: ${p.value.record.status}`);
      const e = await timed(() => s.wallet.execute(id));
      if (e.value.status !== PaymentStatus.Signed) throw new Error(`${id}: ${e.value.status}`);
      if (keep) {
        record(s, "propose", p.ms);
        record(s, "execute", e.ms);
      }
      if (i % APPROVE_EVERY === 0) {
        const big = `${s.name}-m${i}`;
        const pb = await timed(() => s.wallet.propose({ id: big, destination: alice, asset: "XLM", amount: "25", requestedBy: "bench" }));
        if (pb.value.record.status !== PaymentStatus.PendingApproval) throw new Error(`${big}: ${pb.value.record.status}`);
        const a = await timed(() => s.owner.approve(big, "bench:owner"));
        const eb = await timed(() => s.wallet.execute(big));
        if (eb.value.status !== PaymentStatus.Signed) throw new Error(`${big}: ${eb.value.status}`);
        if (keep) {
          record(s, "propose_big", pb.ms);
          record(s, "approve", a.ms);
          record(s, "execute_mandate", eb.ms);
          record(s, "approval_flow", pb.ms + a.ms + eb.ms);
          (approvals[s.name] ??= []).push(big);
        }
      }
    }
    if ((i + 1) % 50 === 0) progress(`payments: ${i + 1}/${N + WARMUP}`);
  }
  // The checks' parts, warm: one proposal's ledger entries (signatures checked when trusted keys
  // are set), and the stored mandate fetched and verified.
  for (let i = 0; i < 40; i++) {
    const k = i % setups.length;
    for (const s of [...setups.slice(k), ...setups.slice(0, k)]) {
      const ids = approvals[s.name];
      const id = ids[i % ids.length];
      record(s, "entriesFor", (await timed(() => s.wallet.ledger.entriesFor(id))).ms);
      record(s, "mandate", (await timed(() => s.wallet.mandate(id))).ms);
    }
  }
  progress("payments: done");

  // ---- Ledger append: unsigned / signed / signed + anchored, same server. ----
  const runtimeOpts = signed.walletOpts.ledger!;
  const benchLedger = (name: string, opts: LedgerOptions = {}) =>
    AuditLedger.open(signed.nats, { stream: `BENCH_LEDGER_${name.toUpperCase()}`, subject: `bench.ledger.${name}`, ...opts });
  const unsignedLedger = await benchLedger("unsigned");
  const signedLedger = await benchLedger("signed", { signer: runtimeOpts.signer, trusted: runtimeOpts.trusted });
  const anchoredLedger = await benchLedger("anchored", {
    signer: runtimeOpts.signer,
    trusted: runtimeOpts.trusted,
    anchor: new FileLedgerAnchor(join(signed.dir, "bench-anchor.json"), "BENCH_LEDGER_ANCHORED", { signer: runtimeOpts.signer, trusted: runtimeOpts.trusted }),
  });
  const entryData = (i: number) => ({ requested: { destination: alice, asset: "XLM", amount: "1", memo: "" }, requestedBy: "bench", reason: null, i });
  const [appendUnsigned, appendSigned, appendAnchored] = await alternate(N * 2, [
    (i) => unsignedLedger.append(LedgerEntryType.Proposal, `x${i}`, entryData(i)),
    (i) => signedLedger.append(LedgerEntryType.Proposal, `x${i}`, entryData(i)),
    (i) => anchoredLedger.append(LedgerEntryType.Proposal, `x${i}`, entryData(i)),
  ]);
  progress("ledger append: done");

  // ---- Ledger verify per entry: the signed set-up's ledger (real payments, approvals and
  // mandates), read as a chain only, and with the viewer's options (`ledger verify`). ----
  const chainOnly = await AuditLedger.open(signed.nats, { readOnly: true });
  const checked = await AuditLedger.open(signed.nats, viewerLedger(signed.env, signed.trust!));
  const verifyRuns: { chain: number[]; checked: number[] } = { chain: [], checked: [] };
  let verifiedEntries = 0;
  for (let r = 0; r < 2; r++) {
    for (const which of r % 2 === 0 ? (["chain", "checked"] as const) : (["checked", "chain"] as const)) {
      const { ms, value } = await timed(() => (which === "chain" ? chainOnly : checked).verify());
      if (!value.ok) throw new Error(`verify (${which}): ${JSON.stringify(value.problems.slice(0, 3))}`);
      verifiedEntries = value.entries;
      verifyRuns[which].push(ms / value.entries);
    }
  }
  const verifyChain = median(verifyRuns.chain);
  const verifyChecked = median(verifyRuns.checked);
  progress("ledger verify: done");

  // ---- Mandates, ed25519, unlocks, policy. ----
  const ownerKey = signed.ownerKey;
  const mandate: Mandate = {
    v: 1,
    paymentId: "m-bench",
    destination: alice,
    asset: "XLM",
    amount: "25",
    memo: null,
    decision: MandateDecision.Approve,
    policyVersion: policyVersion(policy),
    issuedAt: new Date().toISOString(),
    expiresAt: "2099-01-01T00:00:00.000Z",
    owner: ownerKey.publicKey,
    note: null,
  };
  const signedMandate = signMandate(mandate, ownerKey);
  const [mandateSign, mandateVerify] = await alternate(200, [() => signMandate(mandate, ownerKey), () => verifyMandate(signedMandate, ownerKey.publicKey, "m-bench")]);

  const data = new TextEncoder().encode(`vibewriter-ledger-v1\n${"ab".repeat(32)}`);
  const pair = nkeys.createUser();
  const pub = pair.getPublicKey();
  const nkSig = pair.sign(data);
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const nodeSig = nodeSign(null, data, privateKey);
  const [nkSign, nkVerify, ndSign, ndVerify] = await alternate(200, [
    () => pair.sign(data),
    () => nkeys.fromPublic(pub).verify(data, nkSig),
    () => nodeSign(null, data, privateKey),
    () => nodeVerify(null, data, publicKey, nodeSig),
  ]);

  const ksEnv = { [WalletEnv.Passphrase]: "bench" };
  const ksDir = join(plain.dir, "keystore");
  await (await Keystore.open({ dir: ksDir, env: ksEnv })).create();
  const [ownerUnlock, keystoreUnlock] = await alternate(10, [() => unlockOwnerKey(signed.dir, signed.env), () => Keystore.open({ dir: ksDir, env: ksEnv })]);
  const policyMs = await time(10_000, () => evaluatePolicy(policy, { destination: alice, asset: NATIVE_ASSET, amount: parseAmount("1") }, { now: new Date(), windowSpent: 0n }));

  // ---- Report. ----
  const out: Record<string, number | string | number[]> = { bench: "wallet", n: N, approvals: N / APPROVE_EVERY };
  const f = (ms: number) => `${ms.toFixed(3).padStart(9)} ms`;
  const x = (r: number) => r.toFixed(2).padStart(6);
  console.log(
    `payments: ${N} allowed (1 XLM) and ${approvals.plain.length} above the approval threshold (25 XLM) per set-up, after ${WARMUP} warm-up; medians`,
  );
  console.log("plain = anonymous server, unsigned ledger; signed = anonymous server, signed + anchored ledger, trusted keys; default = embedded server, nkey identities + permissions, signed + anchored ledger");
  console.log(`${"operation".padEnd(34)} ${"plain".padStart(12)} ${"signed".padStart(12)} ${"default".padStart(12)}   signed/plain  default/signed  default/plain`);
  const rows: [string, string][] = [
    ["propose (allowed)", "propose"],
    ["execute (allowed)", "execute"],
    ["propose (needs approval)", "propose_big"],
    ["owner approve (signs mandate)", "approve"],
    ["execute (with mandate)", "execute_mandate"],
    ["propose + approve + execute", "approval_flow"],
    ["entriesFor, warm (one proposal)", "entriesFor"],
    ["mandate fetch + verify", "mandate"],
  ];
  for (const [label, key] of rows) {
    const a = med(plain, key);
    const b = med(signed, key);
    const c = med(dflt, key);
    console.log(`${label.padEnd(34)} ${f(a)} ${f(b)} ${f(c)}   ${x(b / a)}        ${x(c / b)}          ${x(c / a)}`);
    out[`plain_${key}_ms`] = r4(a);
    out[`signed_${key}_ms`] = r4(b);
    out[`default_${key}_ms`] = r4(c);
    out[`checks_${key}_ratio`] = r4(b / a);
    out[`auth_${key}_ratio`] = r4(c / b);
    out[`all_${key}_ratio`] = r4(c / a);
  }
  const mandateShare = (s: Setup) => med(s, "execute_mandate") / med(s, "execute");
  console.log(`execute with mandate / allowed execute: plain ${mandateShare(plain).toFixed(2)}, signed ${mandateShare(signed).toFixed(2)}, default ${mandateShare(dflt).toFixed(2)}`);
  out.mandate_execute_ratio_default = r4(mandateShare(dflt));

  console.log("");
  console.log(`${"alone".padEnd(34)} ${"without".padStart(12)} ${"with".padStart(12)}   with/without`);
  const pair2 = (label: string, key: string, a: number, b: number) => {
    console.log(`${label.padEnd(34)} ${f(a)} ${f(b)}   ${x(b / a)}`);
    out[`${key}_without_ms`] = r4(a);
    out[`${key}_with_ms`] = r4(b);
    out[`${key}_ratio`] = r4(b / a);
  };
  pair2("ledger append: signed", "append_signed", appendUnsigned, appendSigned);
  pair2("ledger append: signed + anchored", "append_anchored", appendUnsigned, appendAnchored);
  pair2(`verify / entry (${verifiedEntries}): sig+anchor+meaning`, "verify_entry", verifyChain, verifyChecked);
  console.log(`${"mandate sign / verify".padEnd(34)} ${f(mandateSign)} ${f(mandateVerify)}`);
  console.log(`${"ed25519 nkeys sign / verify".padEnd(34)} ${f(nkSign)} ${f(nkVerify)}   (node:crypto: ${ndSign.toFixed(3)} / ${ndVerify.toFixed(3)} ms)`);
  console.log(`${"owner key / keystore unlock".padEnd(34)} ${f(ownerUnlock)} ${f(keystoreUnlock)}   (scrypt N=2^15, r=8)`);
  console.log(`${"policy evaluate".padEnd(34)} ${f(policyMs)}`);
  Object.assign(out, {
    mandate_sign_ms: r4(mandateSign),
    mandate_verify_ms: r4(mandateVerify),
    nkeys_sign_ms: r4(nkSign),
    nkeys_verify_ms: r4(nkVerify),
    node_ed25519_sign_ms: r4(ndSign),
    node_ed25519_verify_ms: r4(ndVerify),
    owner_key_unlock_ms: r4(ownerUnlock),
    verify_entries: verifiedEntries,
  });

  console.log("");
  console.log("ledger size: execute of an allowed payment on a fresh Wallet (cold: reads the whole ledger once) vs the warm Wallet");
  console.log(`${"entries".padStart(8)}   ${"plain cold".padStart(12)} ${"plain warm".padStart(12)} ${"default cold".padStart(13)} ${"default warm".padStart(13)}   cold/warm (plain, default)   cold extra per entry (plain, default)`);
  for (const row of sweep) {
    const [pc, pw, dc, dw] = [row.cold.plain, row.warm.plain, row.cold.default, row.warm.default];
    const per = (c: number, w: number, n: number) => ((c - w) / n).toFixed(4);
    console.log(
      `${String(row.entries.default).padStart(8)}   ${f(pc)} ${f(pw)} ${f(dc).padStart(13)} ${f(dw).padStart(13)}   ${x(pc / pw)} ${x(dc / dw)}                ${per(pc, pw, row.entries.plain)} ${per(dc, dw, row.entries.default)} ms`,
    );
    out[`ledger_${row.size}_entries`] = row.entries.default;
    out[`ledger_${row.size}_plain_cold_execute_ms`] = r4(pc);
    out[`ledger_${row.size}_plain_warm_execute_ms`] = r4(pw);
    out[`ledger_${row.size}_default_cold_execute_ms`] = r4(dc);
    out[`ledger_${row.size}_default_warm_execute_ms`] = r4(dw);
  }

  // The earlier version's keys, same meaning (the plain set-up).
  Object.assign(out, {
    policy_evaluate: r4(policyMs),
    propose_allowed_: r4(med(plain, "propose")),
    execute_sign_: r4(med(plain, "execute")),
    ledger_append: r4(appendUnsigned),
    ledger_verify_entry: r4(verifyChain),
    keystore_unlock: r4(keystoreUnlock),
  });
  console.log(JSON.stringify(out));
} finally {
  for (const b of backbones.reverse()) await b.close().catch(() => {});
  for (const s of servers) await s.close().catch(() => {});
  for (const d of dirs) await rm(d, { recursive: true, force: true });
}
