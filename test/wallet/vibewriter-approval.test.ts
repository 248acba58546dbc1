/**
 * The approval flow as the product runs it: createVibewriter in a microVM pauses on a payment
 * above the threshold; the nats-server is killed and restarted; in a "new process" (new
 * connection, backbone, wallet, VM) the owner's `approvePayment` (what `vibewriter approve ID`
 * calls) is recorded and `resume()` continues the run to a signed payment.
 */
import { AIMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { paymentProposalId, type PaymentApprovalRequest } from "../../src/agent/tools/payment.ts";
import { createVibewriter, RunStatus } from "../../src/agent/vibewriter.ts";
import { openOnConnection, type Backbone } from "../../src/nats/backbone.ts";
import { connectNats } from "../../src/nats/connection.ts";
import { MicroVMBackend } from "../../src/sandbox/backend.ts";
import { approvePayment } from "../../src/wallet/admin.ts";
import { LedgerEntryType } from "../../src/wallet/ledger.ts";
import { PaymentStatus } from "../../src/wallet/payment-record.ts";
import { Wallet } from "../../src/wallet/wallet.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";
import { acquireTestVm, closeTestPool } from "../support/vm.ts";
import { walletFixture, type WalletFixture } from "./support/fixtures.ts";

const THREAD = "vw-approval";
let nats: TestNats;
let fx: WalletFixture;
const sandboxes: MicroVMBackend[] = [];
let second: Backbone | undefined;

beforeAll(async () => {
  nats = await startTestNats();
  fx = await walletFixture();
});
afterAll(async () => {
  for (const s of sandboxes) await s.close().catch(() => {});
  await closeTestPool();
  await second?.close();
  await nats?.close();
  await fx?.cleanup();
});

async function vibewriterOn(backbone: Backbone, model: ReturnType<typeof fakeModel>) {
  const sandbox = await MicroVMBackend.create({ threadId: THREAD, vm: await acquireTestVm() });
  sandboxes.push(sandbox);
  const wallet = await Wallet.open({ nats: backbone, policy: fx.policy, signer: await fx.signer(), ownerPublicKey: fx.ownerKey.publicKey });
  return createVibewriter({ backbone: backbone, threadId: THREAD, model, sandbox, wallet });
}

it("pauses for the owner, survives a nats-server crash, and finishes after `approve` + resume", async () => {
  const pay = new AIMessage({
    id: "ai-pay",
    content: "",
    tool_calls: [{ id: "call-30", name: "propose_payment", args: { destination: fx.alice, amount: "30", asset: "XLM", reason: "editor fee" }, type: "tool_call" }],
  });
  const vw = await vibewriterOn(nats.backbone, fakeModel().respond(pay));
  const paused = await vw.run("Pay the editor 30 XLM.");
  expect(paused.status).toBe(RunStatus.Interrupted);
  const id = paymentProposalId(THREAD, "call-30");
  const request = (paused.interrupts[0] as { value: PaymentApprovalRequest }).value;
  expect(request).toMatchObject({ kind: "payment_approval", proposalId: id, amount: "30", approve: `vibewriter approve ${id}` });
  await vw.close();

  // Crash: the connection goes, the server is killed and restarted on the same store.
  await nats.backbone.close();
  await nats.server.kill();
  await nats.server.restart();
  second = await openOnConnection(await connectNats({ url: nats.server.url, name: "after-crash" }));

  await approvePayment(second, id, "cli:owner", fx.owner);
  const vw2 = await vibewriterOn(second, fakeModel().respond(new AIMessage({ id: "ai-done", content: "Paid." })));
  const done = await vw2.resume({ approved: false }); // the resume value is ignored; the record counts
  await vw2.close();
  expect(done.status).toBe(RunStatus.Completed);
  expect(done.finalMessage).toBe("Paid.");

  const wallet = await Wallet.open({ nats: second, policy: fx.policy, ownerKey: fx.ownerKey });
  const record = (await wallet.get(id))!;
  expect(record.status).toBe(PaymentStatus.Signed);
  expect((await wallet.ledger.entries({ proposalId: id })).map((e) => e.type)).toEqual([
    LedgerEntryType.Proposal,
    LedgerEntryType.Decision,
    LedgerEntryType.Approval,
    LedgerEntryType.SigningIntent,
    LedgerEntryType.Signature,
  ]);
  expect((await wallet.ledger.verify()).ok).toBe(true);
});
