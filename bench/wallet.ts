/**
 * Wallet costs on this machine: what a payment adds to an agent step.
 *
 *   npx tsx bench/wallet.ts [n]
 *
 * - policy: pure `evaluatePolicy` (no I/O)
 * - propose: `Wallet.propose` of an allowed payment (KV claim, ledger ×2, spend-window CAS, KV update ×2)
 * - execute: `Wallet.execute` (sequence CAS, KV ×3, ledger ×2, one ed25519 signature)
 * - ledger append: one hash-chained entry with expected-last-subject-sequence
 * - ledger verify: per entry, walking the stream
 * - keystore unlock: scrypt (N=2^15, r=8) + AES-GCM
 * Prints medians (ms) and one JSON line.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Keypair } from "@stellar/stellar-sdk";
import { parseStellarAddress } from "../src/wallet/address.ts";
import { parseAmount } from "../src/wallet/amount.ts";
import { NATIVE_ASSET } from "../src/wallet/asset.ts";
import { Keystore, WalletEnv } from "../src/wallet/keystore.ts";
import { AuditLedger, LedgerEntryType } from "../src/wallet/ledger.ts";
import { evaluatePolicy, parsePolicy } from "../src/wallet/policy.ts";
import { Secret } from "../src/wallet/secret.ts";
import { Signer } from "../src/wallet/signer.ts";
import { Wallet } from "../src/wallet/wallet.ts";
import { startTestNats } from "../test/support/nats.ts";

const N = Number(process.argv[2] ?? 200);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
async function time(n: number, f: (i: number) => Promise<unknown> | unknown): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await f(i);
    t.push(performance.now() - t0);
  }
  return median(t);
}

const nats = await startTestNats();
const dir = await mkdtemp(join(tmpdir(), "vw-bench-wallet-"));
try {
  const alice = parseStellarAddress(Keypair.random().publicKey());
  const policy = parsePolicy({
    version: 1,
    delegation: { expiresAt: "2099-01-01T00:00:00Z" },
    destinations: [alice],
    assets: { XLM: { perTransaction: "50", rollingWindow: { amount: "1000000", hours: 24 } } },
  });
  const policyMs = await time(10_000, () => evaluatePolicy(policy, { destination: alice, asset: NATIVE_ASSET, amount: parseAmount("1") }, { now: new Date(), windowSpent: 0n }));

  const wallet = await Wallet.open({ nats: nats.backbone, policy, signer: new Signer(new Secret(Keypair.random().secret())) });
  const proposeMs = await time(N, (i) => wallet.propose({ id: `b${i}`, destination: alice, asset: "XLM", amount: "1", requestedBy: "bench" }));
  const executeMs = await time(N, (i) => wallet.execute(`b${i}`));

  const ledger = await AuditLedger.open(nats.backbone, { stream: "BENCH_LEDGER", subject: "bench.ledger" });
  const appendMs = await time(N * 5, (i) => ledger.append(LedgerEntryType.Proposal, `x${i}`, { amount: "1", i }));
  const t0 = performance.now();
  const v = await ledger.verify();
  const verifyPerEntryMs = (performance.now() - t0) / v.entries;

  const env = { [WalletEnv.Passphrase]: "bench" };
  await (await Keystore.open({ dir, env })).create();
  const unlockMs = await time(10, () => Keystore.open({ dir, env }));

  const rows: [string, number][] = [
    ["policy evaluate", policyMs],
    ["propose (allowed)", proposeMs],
    ["execute (sign)", executeMs],
    ["ledger append", appendMs],
    ["ledger verify / entry", verifyPerEntryMs],
    ["keystore unlock", unlockMs],
  ];
  for (const [k, ms] of rows) console.log(`${k.padEnd(24)} ${ms.toFixed(3).padStart(9)} ms`);
  console.log(JSON.stringify(Object.fromEntries(rows.map(([k, ms]) => [k.replace(/\W+/g, "_"), Number(ms.toFixed(4))]))));
} finally {
  await nats.close();
  await rm(dir, { recursive: true, force: true });
}
