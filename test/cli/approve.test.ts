import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Keypair } from "@stellar/stellar-sdk";
import { loadTrust, runtimeLedger } from "../../src/app/trust.ts";
import { loadPolicyFile } from "../../src/wallet/policy.ts";
import { Wallet } from "../../src/wallet/wallet.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";
import { main } from "../../src/cli/main.ts";
import { captureIo } from "./capture.ts";
import { EventType } from "../../src/nats/event-types.ts";
import { RunQueue } from "../../src/nats/run-queue.ts";

describe("vibewriter approve / reject", () => {
  let nats: TestNats;
  let wallet: Wallet;
  let state: string;
  const dest = Keypair.random().publicKey();
  beforeAll(async () => {
    nats = await startTestNats();
    state = await mkdtemp(join(tmpdir(), "vw-approve-"));
    const policyPath = join(state, "policy.json");
    await writeFile(
      policyPath,
      JSON.stringify({
        version: 1,
        delegation: { expiresAt: "2099-01-01T00:00:00Z" },
        destinations: [dest],
        assets: { XLM: { perTransaction: "50", rollingWindow: { amount: "100", hours: 24 }, approvalAbove: "20" } },
      }),
    );
    // The owner creates their signing identity once; the runtime's wallet knows only its public key.
    const init = captureIo(env());
    expect(await main(["owner", "init"], init)).toBe(0);
    expect(init.out()).toMatch(/^Owner key created: U[A-Z2-7]{55}\n/);
    const runtimeEnv = { VIBEWRITER_STATE_DIR: state };
    const trust = await loadTrust(runtimeEnv);
    wallet = await Wallet.open({ nats: nats.backbone, policy: await loadPolicyFile(policyPath), ownerPublicKey: trust.ownerPublicKey, ledger: await runtimeLedger(runtimeEnv, trust) });
  });
  afterAll(async () => {
    await nats?.close();
    await rm(state, { recursive: true, force: true });
  });

  const env = () => ({
    PATH: process.env.PATH,
    NATS_URL: nats.server.url,
    USER: "owner",
    VIBEWRITER_STATE_DIR: state,
    VIBEWRITER_POLICY: join(state, "policy.json"),
    VIBEWRITER_OWNER_PASSPHRASE: "the owner's own passphrase",
  });
  const propose = (id: string) =>
    wallet.propose({ id, destination: dest, asset: "XLM", amount: "30", requestedBy: "thread-7" });

  it("approves a pending proposal, records it in the ledger, and says how to continue", async () => {
    expect((await propose("p-approve")).record.status).toBe("pending_approval");
    const io = captureIo(env());
    expect(await main(["approve", "p-approve"], io)).toBe(0);
    expect(io.out()).toMatch(/^Approved payment p-approve: 30 XLM to G/);
    expect(io.out()).toContain("vibewriter resume thread-7");
    expect((await wallet.get("p-approve"))?.status).toBe("approved");
    const entries = await wallet.ledger.entries({ proposalId: "p-approve" });
    expect(entries.at(-1)).toMatchObject({ type: "approval", data: { by: "cli:owner", mandate: { mandate: { paymentId: "p-approve", amount: "30", destination: dest, decision: "approve" } } } });
    // The approval is signed by the owner's key, not the runtime's.
    expect(entries.at(-1)!.by).toBe((await loadTrust({ VIBEWRITER_STATE_DIR: state })).ownerPublicKey);
    expect((await wallet.mandate("p-approve"))?.decision).toBe("approve");
  });

  it("without the owner's passphrase nothing is decided, and the fix is named", async () => {
    await propose("p-locked");
    const io = captureIo({ ...env(), VIBEWRITER_OWNER_PASSPHRASE: "" });
    expect(await main(["approve", "p-locked"], io)).toBe(1);
    expect(io.err()).toMatch(/owner's key is locked/);
    expect(io.err()).toMatch(/VIBEWRITER_OWNER_PASSPHRASE/);
    const wrong = captureIo({ ...env(), VIBEWRITER_OWNER_PASSPHRASE: "a guess" });
    expect(await main(["approve", "p-locked"], wrong)).toBe(1);
    expect(wrong.err()).toMatch(/does not open the owner's key/);
    expect((await wallet.get("p-locked"))?.status).toBe("pending_approval");
    expect(await wallet.mandate("p-locked")).toBeUndefined();
  });

  it("rejects with a reason (JSON output)", async () => {
    await propose("p-reject");
    const io = captureIo(env());
    expect(await main(["reject", "p-reject", "--reason", "not this month", "--json"], io)).toBe(0);
    expect(JSON.parse(io.out())).toEqual({ ok: true, id: "p-reject", status: "rejected", thread: "thread-7" });
    const entries = await wallet.ledger.entries({ proposalId: "p-reject" });
    expect(entries.at(-1)).toMatchObject({ type: "rejection", data: { note: "not this month" } });
  });

  it("an unknown or already-decided id is a clear error listing what waits", async () => {
    await propose("p-waiting");
    const io = captureIo(env());
    expect(await main(["approve", "p-nope"], io)).toBe(1);
    expect(io.err()).toMatch(/no payment proposal "p-nope"/);
    expect(io.err()).toMatch(/Waiting for approval: p-waiting \(30 XLM\)/);

    const io2 = captureIo(env());
    expect(await main(["approve", "p-approve", "--json"], io2)).toBe(1);
    expect(JSON.parse(io2.out()).error).toMatchObject({ code: "failed", causeCode: "not_pending" });
  });

  it("payments lists proposals; --pending only those waiting", async () => {
    const all = captureIo(env());
    expect(await main(["payments", "--json"], all)).toBe(0);
    const ids = (JSON.parse(all.out()) as { payments: { id: string; status: string }[] }).payments.map((p) => `${p.id}:${p.status}`);
    expect(ids.sort()).toEqual(["p-approve:approved", "p-locked:pending_approval", "p-reject:rejected", "p-waiting:pending_approval"]);
    const pending = captureIo(env());
    expect(await main(["payments", "--pending"], pending)).toBe(0);
    expect(pending.out()).toMatch(/^p-\w+ {2}pending_approval {2}30 XLM to G\S+ {2}\(thread thread-7, [^)]+\) — /);
    expect(pending.out().trim().split("\n")).toHaveLength(2);
  });

  it("a decision on a thread that ran from the queue queues its resume (the paused run holds no worker)", async () => {
    const queue = await RunQueue.open(nats.backbone);
    // thread-7 (p-waiting's) is made a queued thread: its log says it was submitted.
    await nats.backbone.events.publish("thread-7", { type: EventType.RunQueued, data: { kind: "run", task: "queued task", by: "submit" } });
    const io = captureIo(env());
    expect(await main(["reject", "p-waiting", "--json"], io)).toBe(0);
    expect(JSON.parse(io.out())).toEqual({ ok: true, id: "p-waiting", status: "rejected", thread: "thread-7", requeued: true });
    const got = await queue.next({ expiresMs: 5_000 });
    expect(got?.request).toMatchObject({ v: 1, kind: "resume", threadId: "thread-7" });
    await got!.ack();
    expect((await nats.backbone.events.history("thread-7")).at(-1)).toMatchObject({ type: EventType.RunQueued, data: { kind: "resume", by: "cli:owner" } });
  });
});
