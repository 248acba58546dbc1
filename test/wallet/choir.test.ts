import { AIMessage, ToolMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { Keypair } from "@stellar/stellar-sdk";
import { createDeepAgent } from "deepagents";
import { createChoirTools } from "../../src/agent/tools/choir.ts";
import { Choir } from "../../src/choir/choir.ts";
import { CITATION_NEW_PREFIX, citationNewSubject, citationRewardSubject } from "../../src/choir/names.ts";
import { Names } from "../../src/nats/streams.ts";
import { ChoirError } from "../../src/choir/errors.ts";
import type { CitationSignal, RewardSignal } from "../../src/choir/report.ts";
import { computeRewards, distributeRewards } from "../../src/choir/rewards.ts";
import { PaymentStatus } from "../../src/wallet/payment-record.ts";
import { PolicyRule } from "../../src/wallet/policy.ts";
import { decodePaymentEnvelope } from "../../src/wallet/stellar.ts";
import { Wallet } from "../../src/wallet/wallet.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";
import { walletFixture, type WalletFixture } from "./support/fixtures.ts";

let nats: TestNats;
let fx: WalletFixture;
beforeAll(async () => {
  nats = await startTestNats();
  fx = await walletFixture({ perTransaction: "50", window: "100", approvalAbove: "40" });
});
afterAll(async () => {
  await nats?.close();
  await fx?.cleanup();
});

const T0 = Date.parse("2026-06-01T00:00:00Z");
let n = 0;
async function openChoir() {
  n++;
  const clock = { now: T0 };
  const choir = await Choir.open(nats.backbone, {
    clock: () => new Date(clock.now),
    names: { stream: `TEST_CHOIR_${n}`, subjects: Names.choirSubjects, reportsBucket: `TEST_CHOIR_REPORTS_${n}`, bodiesBucket: `TEST_CHOIR_BODIES_${n}` },
  });
  return { choir, clock };
}

/** Messages on a subject of the stream, read back directly. */
async function signals<T>(stream: string, subjectPrefix: string): Promise<{ subject: string; body: T }[]> {
  const { first_seq, last_seq, messages } = (await nats.backbone.jsm.streams.info(stream)).state;
  const out: { subject: string; body: T }[] = [];
  if (messages === 0) return out;
  for (let seq = first_seq; seq <= last_seq; seq++) {
    const m = await nats.backbone.jsm.streams.getMessage(stream, { seq });
    if (m && m.subject.startsWith(subjectPrefix)) out.push({ subject: m.subject, body: m.json<T>() });
  }
  return out;
}

// Each test makes its own stream on citation.>: delete the previous one (subjects may not overlap).
afterEach(async () => {
  await nats.backbone.jsm.streams.delete(`TEST_CHOIR_${n}`).catch(() => {});
});

const X = () => fx.alice; // allowlisted in the wallet policy
const Y = Keypair.random().publicKey(); // not allowlisted

describe("choir: publishing and citation signals", () => {
  it("emits citation.new.<cited>.<citing> when a published report cites an earlier one, once", async () => {
    const { choir, clock } = await openChoir();
    const a = await choir.publish({ title: "Stellar fees in 2026", body: "Base fees stayed at 100 stroops.", author: X() });
    clock.now += 1000;
    const b = await choir.publish({ title: "Fee markets", body: "Building on earlier work on fees.", author: Y, cites: [a.id] });
    expect(b.cites).toEqual([a.id]);
    // Identical content again: the same report, no new signal.
    expect((await choir.publish({ title: "Fee markets", body: "Building on earlier work on fees.", author: Y, cites: [a.id] })).id).toBe(b.id);
    const got = await signals<CitationSignal>(choir.names.stream, CITATION_NEW_PREFIX);
    expect(got).toEqual([
      { subject: citationNewSubject(a.id, b.id), body: { citing: b.id, cited: a.id, citingAuthor: Y, citedAuthor: X(), selfCitation: false, at: new Date(T0 + 1000).toISOString() } },
    ]);
    expect(await choir.body(a.id)).toBe("Base fees stayed at 100 stroops.");
  });

  it("stores a citation once at any age, and completes the signals a crash left out", async () => {
    const { choir, clock } = await openChoir();
    const a = await choir.publish({ title: "Anchors", body: "Anchors hold reserves.", author: X() });
    clock.now += 1000;
    const b = await choir.publish({ title: "Anchors again", body: "More on anchors.", author: Y, cites: [a.id] });
    // The same content published long after JetStream's 2-minute msg-id window: nothing new.
    await nats.backbone.jsm.streams.update(choir.names.stream, { duplicate_window: 100_000_000 }); // 100 ms
    let probes = 0;
    const forgetMsgIds = async () => {
      // Msg-ids expire oldest first: once a probe published now is forgotten, so is every earlier one.
      const probe = () => nats.backbone.js.publish(`${Names.choirSubjectPrefix}.probe`, "p", { msgID: `window-probe-${probes}` });
      await probe();
      while ((await probe()).duplicate) await nats.nc.flush();
      probes++;
    };
    await forgetMsgIds();
    expect((await choir.publish({ title: "Anchors again", body: "More on anchors.", author: Y, cites: [a.id] })).id).toBe(b.id);
    expect(await signals(choir.names.stream, CITATION_NEW_PREFIX)).toHaveLength(1);
    // A report stored, then the process died before signalling: publishing it again signals once.
    const c = await choir.publish({ title: "Third", body: "Cites both.", author: Y, cites: [a.id, b.id] });
    await nats.backbone.jsm.streams.purge(choir.names.stream, { filter: citationNewSubject(b.id, c.id) });
    await forgetMsgIds();
    await choir.publish({ title: "Third", body: "Cites both.", author: Y, cites: [a.id, b.id] });
    const got = await signals<CitationSignal>(choir.names.stream, CITATION_NEW_PREFIX);
    expect(got.map((g) => [g.body.citing, g.body.cited])).toEqual([[b.id, a.id], [c.id, a.id], [c.id, b.id]]);
    // Rewards count each pair once even where an older store holds two copies of a signal.
    await nats.backbone.js.publish(`${CITATION_NEW_PREFIX}${a.id}`, JSON.stringify(got[0]!.body), { msgID: "legacy-copy" });
    const counted = await choir.citations(new Date(T0), new Date(T0 + 86_400_000));
    expect(counted.map((s) => [s.citing, s.cited])).toEqual([[b.id, a.id], [c.id, a.id], [c.id, b.id]]);
  });

  it("refuses citations of unpublished or malformed ids, and bad reports", async () => {
    const { choir } = await openChoir();
    const code = async (p: Promise<unknown>) => p.then(() => "none", (e) => (ChoirError.isInstance(e) ? e.code : String(e)));
    expect(await code(choir.publish({ title: "t", body: "b", author: X(), cites: ["r-00000000000000000000"] }))).toBe("invalid_citation");
    expect(await code(choir.publish({ title: "t", body: "b", author: X(), cites: ["citation.>"] }))).toBe("invalid_citation");
    expect(await code(choir.publish({ title: "", body: "b", author: X() }))).toBe("invalid_report");
    expect(await code(choir.publish({ title: "t", body: "b", author: X().toLowerCase() }))).toBe("invalid_report");
    expect(await signals(choir.names.stream, `${Names.choirSubjectPrefix}.`)).toEqual([]);
    expect(await choir.list()).toEqual([]);
  });

  it("searches published reports by keyword, best match first", async () => {
    const { choir, clock } = await openChoir();
    await choir.publish({ title: "Lumens and anchors", body: "Anchors issue assets on Stellar.", author: X() });
    clock.now += 1;
    const best = await choir.publish({ title: "Soroban fees", body: "Soroban fees depend on resources. Fees, fees, fees.", author: Y });
    const hits = await choir.search("soroban fees");
    expect(hits[0]).toMatchObject({ id: best.id, title: "Soroban fees" });
    expect(hits).toHaveLength(1);
    expect(await choir.search("   ")).toEqual([]);
  });
});

describe("choir: rewards", () => {
  const sig = (citing: string, cited: string, citedAuthor: string, at: number, selfCitation = false): CitationSignal => ({
    citing, cited, citingAuthor: "G-citing", citedAuthor, selfCitation, at: new Date(at).toISOString(),
  });

  it("Citation_Rate = budget / citations, exact stroops, self-citations and out-of-period ones excluded", () => {
    const period = { id: "2026-06", from: new Date(T0), to: new Date(T0 + 30 * 86_400_000), budget: "10" };
    const c = computeRewards(
      [
        sig("r1", "r0", "GX", T0),
        sig("r2", "r0", "GX", T0 + 5),
        sig("r2", "r0", "GX", T0 + 5), // duplicate delivery: counted once
        sig("r3", "r9", "GY", T0 + 9),
        sig("r4", "r9", "GY", T0 + 9, true), // self-citation
        sig("r5", "r9", "GY", T0 - 1), // before the period
        sig("r6", "r9", "GY", T0 + 30 * 86_400_000), // end is exclusive
      ],
      period,
    );
    expect(c.citations).toBe(3);
    expect(c.rate).toBe("3.3333333");
    expect(c.rewards.map((r) => [r.author, r.citations, r.amount])).toEqual([["GX", 2, "6.6666666"], ["GY", 1, "3.3333333"]]);
    expect(c.unallocated).toBe("0.0000001");
    expect(computeRewards([], period)).toMatchObject({ citations: 0, rate: "0", rewards: [] });
    expect(() => computeRewards([], { ...period, budget: "-1" })).toThrow(/budget/);
    expect(() => computeRewards([], { ...period, id: "a.b" })).toThrow(/period id/);
  });

  it("pays rewards through the wallet policy: listed author paid, unlisted denied, a second run pays nothing twice", async () => {
    const { choir, clock } = await openChoir();
    const wallet = await Wallet.open({ nats: nats.backbone, policy: fx.policy, signer: await fx.signer(), ownerPublicKey: fx.ownerKey.publicKey, clock: () => new Date(clock.now), bucket: `TEST_CHOIR_PAY_${n}`, ledger: { stream: `TEST_CHOIR_LEDGER_${n}`, subject: `test.choir.ledger.${n}` } });
    const a = await choir.publish({ title: "X's report", body: "x", author: X() });
    const b = await choir.publish({ title: "Y's report", body: "y", author: Y });
    clock.now += 60_000;
    await choir.publish({ title: "Z cites both", body: "z", author: Keypair.random().publicKey(), cites: [a.id, b.id] });
    await choir.publish({ title: "W cites X", body: "w", author: Keypair.random().publicKey(), cites: [a.id] });
    clock.now += 60_000;
    const period = { id: "p1", from: new Date(T0), to: new Date(clock.now), budget: "30" };
    const first = await distributeRewards({ choir, wallet, js: nats.backbone.js }, period);
    expect(first.computation).toMatchObject({ citations: 3, rate: "10" });
    const byAuthor = Object.fromEntries(first.payments.map((p) => [p.author, p]));
    expect(byAuthor[X()].record.status).toBe(PaymentStatus.Signed);
    expect(decodePaymentEnvelope(byAuthor[X()].record.envelopeXdr!)).toMatchObject({ destination: X(), amount: "20.0000000" });
    expect(byAuthor[Y].decision).toMatchObject({ outcome: "deny", rule: PolicyRule.Destination });
    const rewards = await signals<RewardSignal>(choir.names.stream, `${Names.choirSubjectPrefix}.reward.`);
    expect(rewards.map((r) => [r.subject, r.body.amount])).toEqual([
      [citationRewardSubject(X(), "p1"), "20"],
      [citationRewardSubject(Y, "p1"), "10"],
    ].sort((p, q) => (p[0] < q[0] ? -1 : 1)));

    const second = await distributeRewards({ choir, wallet, js: nats.backbone.js }, period);
    expect(second.payments.find((p) => p.author === X())!.record.txHash).toBe(byAuthor[X()].record.txHash);
    expect(await signals(choir.names.stream, `${Names.choirSubjectPrefix}.reward.`)).toHaveLength(2);
    const signatures = (await wallet.ledger.entries()).filter((e) => e.type === "signature");
    expect(signatures).toHaveLength(1);
  });
});

describe("choir tools in an agent", () => {
  it("search_choir_kb, cite_article and publish_to_choir work over NATS and emit the citation", async () => {
    const { choir } = await openChoir();
    const earlier = await choir.publish({ title: "Anchor liquidity study", body: "Anchors hold reserves.", author: Y });
    const tools = createChoirTools({ choir, author: X() });
    const call = (id: string, name: string, args: Record<string, unknown>) =>
      new AIMessage({ id: `ai-${id}`, content: "", tool_calls: [{ id, name, args, type: "tool_call" }] });
    const model = fakeModel()
      .respond(call("c1", "search_choir_kb", { query: "anchor liquidity" }))
      .respond(call("c2", "cite_article", { reportId: earlier.id }))
      .respond(call("c3", "cite_article", { reportId: "r-ffffffffffffffffffff" }))
      .respond(call("c4", "publish_to_choir", { title: "Follow-up on anchors", body: "We extend the anchor study." }))
      .respond(new AIMessage({ id: "ai-end", content: "done" }));
    const agent = createDeepAgent({ model, tools: [...tools], checkpointer: nats.backbone.checkpointer });
    const out = (await agent.invoke({ messages: [{ role: "user", content: "write and publish" }] }, { configurable: { thread_id: "choir-tools-1" } })) as unknown as { messages: unknown[] };
    const results = out.messages.filter((m) => ToolMessage.isInstance(m as ToolMessage)).map((m) => String((m as ToolMessage).content));
    expect(results[0]).toContain(earlier.id);
    expect(results[1]).toContain(`[choir:${earlier.id}]`);
    expect(results[2]).toMatch(/report_not_found/);
    expect(results[3]).toMatch(new RegExp(`^Published to the Choir as r-[0-9a-f]{20} .*citing 1 earlier report\\(s\\): ${earlier.id}`));
    const sigs = await signals<CitationSignal>(choir.names.stream, CITATION_NEW_PREFIX);
    expect(sigs).toHaveLength(1);
    expect(sigs[0]).toMatchObject({ subject: expect.stringMatching(new RegExp(`^citation\\.new\\.${earlier.id}\\.r-[0-9a-f]{20}$`)), body: { cited: earlier.id, citingAuthor: X(), citedAuthor: Y } });
  });
});
