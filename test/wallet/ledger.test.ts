import { AuditLedger, hashEntry, LedgerEntryType, type LedgerEntry } from "../../src/wallet/ledger.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";

let nats: TestNats;
beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(async () => {
  await nats?.close();
});

let n = 0;
/** A fresh ledger on its own stream and subject. */
async function freshLedger(): Promise<AuditLedger> {
  n++;
  return AuditLedger.open(nats.backbone, { stream: `TEST_LEDGER_${n}`, subject: `test.ledger.${n}` });
}

/** Writes entries straight into a new stream, bypassing `append`: how an attacker would. */
async function forged(entries: unknown[]): Promise<AuditLedger> {
  const ledger = await freshLedger();
  for (const e of entries) await nats.backbone.js.publish(ledger.subject, JSON.stringify(e));
  return ledger;
}

async function genuine(count: number): Promise<LedgerEntry[]> {
  const ledger = await freshLedger();
  for (let i = 0; i < count; i++) await ledger.append(LedgerEntryType.Proposal, `p${i}`, { amount: `${i + 1}`, destination: "G..." });
  const v = await ledger.verify();
  expect(v).toMatchObject({ ok: true, entries: count, problems: [] });
  return ledger.entries();
}

describe("audit ledger", () => {
  it("creates its stream idempotently and chains entries", async () => {
    const a = await AuditLedger.open(nats.backbone);
    const b = await AuditLedger.open(nats.backbone);
    const e0 = await a.append(LedgerEntryType.Proposal, "x", { amount: "1" });
    const e1 = await b.append(LedgerEntryType.Decision, "x", { outcome: "allow" });
    expect(e0.index + 1).toBe(e1.index);
    expect(e1.prev).toBe(e0.hash);
    expect((await a.verify()).ok).toBe(true);
  });

  it("the real ledger stream refuses deletes and purges", async () => {
    const ledger = await AuditLedger.open(nats.backbone);
    await ledger.append(LedgerEntryType.Proposal, "y", {});
    await expect(nats.backbone.jsm.streams.deleteMessage(ledger.stream, 1)).rejects.toThrow();
    await expect(nats.backbone.jsm.streams.purge(ledger.stream)).rejects.toThrow();
    expect((await ledger.verify()).ok).toBe(true);
  });

  it("concurrent appends from separate writers still form one chain", async () => {
    const ledger = await freshLedger();
    const other = await AuditLedger.open(nats.backbone, { stream: ledger.stream, subject: ledger.subject });
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? ledger : other).append(LedgerEntryType.Proposal, `c${i}`, { i })));
    const v = await ledger.verify();
    expect(v).toMatchObject({ ok: true, entries: 20 });
    expect((await ledger.entries()).map((e) => e.index)).toEqual([...Array(20).keys()]);
  });

  it("detects a missing entry", async () => {
    const es = await genuine(4);
    const v = await (await forged([es[0], es[1], es[3]])).verify();
    expect(v.ok).toBe(false);
    expect(v.problems.map((p) => p.kind)).toContain("missing");
    expect(v.problems.some((p) => p.detail.includes("entry 2 is missing"))).toBe(true);
  });

  it("detects reordered entries", async () => {
    const es = await genuine(4);
    const v = await (await forged([es[0], es[2], es[1], es[3]])).verify();
    expect(v.ok).toBe(false);
    expect(v.problems.map((p) => p.kind)).toContain("reordered");
    expect(v.problems.map((p) => p.kind)).not.toContain("missing");
  });

  it("detects an altered entry, with or without a recomputed hash", async () => {
    const es = await genuine(3);
    const changed = { ...es[1], data: { ...es[1].data, amount: "1000" } };
    const plain = await (await forged([es[0], changed, es[2]])).verify();
    expect(plain.ok).toBe(false);
    expect(plain.problems).toEqual([expect.objectContaining({ kind: "altered", detail: "entry 1 does not match its hash" })]);

    // The forger recomputes entry 1's hash: entry 2 no longer links to it.
    const rehashed = { ...changed, hash: hashEntry(changed) };
    const v = await (await forged([es[0], rehashed, es[2]])).verify();
    expect(v.ok).toBe(false);
    expect(v.problems).toEqual([expect.objectContaining({ kind: "altered", detail: "entry 2 does not link to entry 1" })]);
  });

  it("detects a deleted stream message and a garbage message", async () => {
    // A stream without deny_delete stands in for someone with server-level access.
    n++;
    const scratch = `TEST_LEDGER_DEL_${n}`;
    await nats.backbone.jsm.streams.add({ name: scratch, subjects: [`test.del.${n}`] });
    const l2 = await AuditLedger.open(nats.backbone, { stream: scratch, subject: `test.del.${n}` });
    for (let i = 0; i < 3; i++) await l2.append(LedgerEntryType.Proposal, `d${i}`, {});
    await nats.backbone.jsm.streams.deleteMessage(scratch, 2);
    const v = await l2.verify();
    expect(v.ok).toBe(false);
    expect(v.problems.map((p) => p.kind)).toEqual(expect.arrayContaining(["missing"]));

    const junk = await forged(["not an entry", { hello: 1 }]);
    expect((await junk.verify()).problems.map((p) => p.kind)).toEqual(["malformed", "malformed"]);
  });
});
