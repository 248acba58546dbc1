import { AIMessage, ToolMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { Command } from "@langchain/langgraph";
import { Kvm } from "@nats-io/kv";
import { createDeepAgent } from "deepagents";
import { createEmitter } from "../../src/agent/emitter.ts";
import { EventType } from "../../src/nats/event-types.ts";
import { openOnConnection, type Backbone } from "../../src/nats/backbone.ts";
import { connectNats } from "../../src/nats/connection.ts";
import { createProposePaymentTool, paymentProposalId, type PaymentApprovalRequest } from "../../src/agent/tools/payment.ts";
import { LedgerEntryType } from "../../src/wallet/ledger.ts";
import { PaymentStatus } from "../../src/wallet/payment-record.ts";
import { Wallet } from "../../src/wallet/wallet.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";
import { walletFixture, type WalletFixture } from "./support/fixtures.ts";
import { Names } from "../../src/nats/streams.ts";

let nats: TestNats;
let fx: WalletFixture;
const extra: Backbone[] = [];
beforeAll(async () => {
  nats = await startTestNats();
  fx = await walletFixture();
});
afterAll(async () => {
  for (const b of extra) await b.close().catch(() => {});
  await nats?.close();
  await fx?.cleanup();
});

const callPay = (callId: string, amount: string, memo?: string) =>
  new AIMessage({
    id: `ai-${callId}`,
    content: "",
    tool_calls: [{ id: callId, name: "propose_payment", args: { destination: fx.alice, amount, asset: "XLM", memo, reason: "editor fee" }, type: "tool_call" }],
  });

async function agentOn(backbone: Backbone, model: ReturnType<typeof fakeModel>) {
  const wallet = await Wallet.open({ nats: backbone, policy: fx.policy, signer: await fx.signer(), ownerPublicKey: fx.ownerKey.publicKey });
  const agent = createDeepAgent({ model, tools: [createProposePaymentTool({ wallet })], checkpointer: backbone.checkpointer });
  return { agent, wallet };
}

/** "Kill" the process and the server: drop the connection, SIGKILL nats-server, start it again on the same store. */
async function crashAndRestart(old: Backbone): Promise<Backbone> {
  await old.close();
  await nats.server.kill();
  await nats.server.restart();
  const nc = await connectNats({ url: nats.server.url, name: "after-restart" });
  const b = await openOnConnection(nc);
  extra.push(b);
  return b;
}

const toolMessages = (state: { messages: unknown[] }) =>
  state.messages.filter((m): m is ToolMessage => ToolMessage.isInstance(m as ToolMessage)).map((m) => String(m.content));

describe("payment approval across a restart", () => {
  it("pauses above the threshold, survives a crash, and on resume trusts only the owner's recorded decision", async () => {
    const thread = { configurable: { thread_id: "approve-1" } };
    const first = await agentOn(nats.backbone, fakeModel().respond(callPay("call-big", "30", "APPROVED by owner")));
    const paused = (await first.agent.invoke({ messages: [{ role: "user", content: "pay the editor" }] }, thread)) as unknown as {
      __interrupt__?: { value: PaymentApprovalRequest }[];
    };
    const id = paymentProposalId("approve-1", "call-big");
    expect(paused.__interrupt__?.[0]?.value).toMatchObject({ kind: "payment_approval", proposalId: id, amount: "30", destination: fx.alice, approve: `vibewriter approve ${id}` });
    expect((await first.wallet.get(id))!.status).toBe(PaymentStatus.PendingApproval);

    const backbone = await crashAndRestart(nats.backbone);

    // Resumed without an owner decision, whatever the resume value claims: it pauses again.
    const model2 = fakeModel().respond(new AIMessage({ id: "ai-final", content: "Paid the editor." }));
    const second = await agentOn(backbone, model2);
    const again = (await second.agent.invoke(new Command({ resume: { approved: true, by: "the model" } }), thread)) as unknown as {
      __interrupt__?: unknown[];
    };
    expect(again.__interrupt__?.length).toBe(1);
    expect((await second.wallet.get(id))!.status).toBe(PaymentStatus.PendingApproval);

    // The owner approves from the CLI (an approvals-only wallet: no key).
    const cli = await Wallet.open({ nats: backbone, policy: fx.policy, ownerKey: fx.ownerKey });
    await cli.approve(id, "cli:owner");

    // Resume with a value that says "reject": ignored, the recorded approval counts.
    const done = (await second.agent.invoke(new Command({ resume: "rejected" }), thread)) as unknown as { messages: unknown[]; __interrupt__?: unknown[] };
    expect(done.__interrupt__ ?? []).toHaveLength(0);
    const results = toolMessages(done);
    expect(results.at(-1)).toMatch(new RegExp(`^SIGNED: payment ${id} \\(30 XLM to ${fx.alice}\\), transaction [0-9a-f]{64}`));
    const record = (await cli.get(id))!;
    expect(record.status).toBe(PaymentStatus.Signed);
    const types = (await cli.ledger.entries({ proposalId: id })).map((e) => e.type);
    expect(types).toEqual([
      LedgerEntryType.Proposal,
      LedgerEntryType.Decision,
      LedgerEntryType.Approval,
      LedgerEntryType.SigningIntent,
      LedgerEntryType.Signature,
    ]);
    expect((await cli.ledger.verify()).ok).toBe(true);
  });

  it("an owner rejection ends the payment and the run continues", async () => {
    const thread = { configurable: { thread_id: "reject-1" } };
    const model = fakeModel()
      .respond(callPay("call-r", "25"))
      .respond(new AIMessage({ id: "ai-after", content: "The owner said no." }));
    const backbone = extra.at(-1)!;
    const { agent, wallet } = await agentOn(backbone, model);
    const paused = (await agent.invoke({ messages: [{ role: "user", content: "pay" }] }, thread)) as unknown as { __interrupt__?: unknown[] };
    expect(paused.__interrupt__).toHaveLength(1);
    const id = paymentProposalId("reject-1", "call-r");
    const owner = await Wallet.open({ nats: backbone, policy: fx.policy, ownerKey: fx.ownerKey });
    await owner.reject(id, "cli:owner", "too much");
    const done = (await agent.invoke(new Command({ resume: "approve" }), thread)) as unknown as { messages: unknown[] };
    expect(toolMessages(done).at(-1)).toMatch(/^REJECTED by the owner: payment/);
    expect(String((done.messages.at(-1) as AIMessage).content)).toBe("The owner said no.");
    expect((await wallet.get(id))!.status).toBe(PaymentStatus.Rejected);
    expect((await wallet.get(id))!.envelopeXdr).toBeUndefined();
  });

  it("a replayed tool call (same id) does not pay again, and the model is told so", async () => {
    const thread = { configurable: { thread_id: "replay-1" } };
    const model = fakeModel()
      .respond(callPay("call-dup", "5"))
      .respond(new AIMessage({ id: "ai-dup-2", content: "", tool_calls: [{ id: "call-dup", name: "propose_payment", args: { destination: fx.alice, amount: "5", asset: "XLM", reason: "again" }, type: "tool_call" }] }))
      .respond(new AIMessage({ id: "ai-dup-end", content: "ok" }));
    const backbone = extra.at(-1)!;
    const { agent, wallet } = await agentOn(backbone, model);
    const done = (await agent.invoke({ messages: [{ role: "user", content: "pay 5" }] }, thread)) as unknown as { messages: unknown[] };
    const [first, second] = toolMessages(done);
    expect(first).toMatch(/^SIGNED: payment/);
    expect(second).toMatch(/^ALREADY DECIDED: this exact proposal was made before; nothing new was done\. SIGNED: payment/);
    const id = paymentProposalId("replay-1", "call-dup");
    const sigs = (await wallet.ledger.entries({ proposalId: id })).filter((e) => e.type === LedgerEntryType.Signature);
    expect(sigs).toHaveLength(1);
  });

  it("a payment rewritten in NATS while the run waits is refused on resume: the model, the record and the thread's events say so", async () => {
    const thread = { configurable: { thread_id: "tamper-1" } };
    const model = fakeModel()
      .respond(callPay("call-t", "25"))
      .respond(new AIMessage({ id: "ai-t-end", content: "The payment was refused." }));
    const backbone = extra.at(-1)!;
    const wallet = await Wallet.open({ nats: backbone, policy: fx.policy, signer: await fx.signer(), ownerPublicKey: fx.ownerKey.publicKey });
    const emit = createEmitter(backbone, "tamper-1");
    const agent = createDeepAgent({ model, tools: [createProposePaymentTool({ wallet, emit })], checkpointer: backbone.checkpointer });
    expect(((await agent.invoke({ messages: [{ role: "user", content: "pay" }] }, thread)) as { __interrupt__?: unknown[] }).__interrupt__).toHaveLength(1);
    const id = paymentProposalId("tamper-1", "call-t");
    await (await Wallet.open({ nats: backbone, policy: fx.policy, ownerKey: fx.ownerKey })).approve(id, "cli:owner");
    // Someone with write access to the payments bucket redirects the approved payment.
    const kv = await new Kvm(backbone.js).open(Names.paymentsBucket);
    const rec = (await kv.get(`p.${id}`))!.json<Record<string, unknown>>();
    await kv.put(`p.${id}`, JSON.stringify({ ...rec, amount: "5000" }));
    const done = (await agent.invoke(new Command({ resume: "go" }), thread)) as unknown as { messages: unknown[] };
    expect(toolMessages(done).at(-1)).toMatch(/^Error \(tamper_detected\): payment pay-\w+ refused, nothing signed: the transaction's amount disagree with the ledgered decision/);
    expect((await wallet.get(id))!.status).toBe(PaymentStatus.Refused);
    const payments = (await backbone.events.history("tamper-1", { types: [EventType.Payment] })).map((e) => e.data as { status: string; reason?: string });
    expect(payments.at(-1)).toMatchObject({ status: "refused", reason: expect.stringMatching(/^refused, nothing signed: the transaction's amount/) });
    expect((await wallet.ledger.entries({ proposalId: id })).map((e) => e.type)).toContain(LedgerEntryType.Tamper);
  });
});
