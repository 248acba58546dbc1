/**
 * `vibewriter prune` against a real nats-server: a dry run changes nothing, a run compacts finished
 * threads, `--older-than 0s` expires them; a thread waiting for the owner and the ledger are kept.
 */
import { uuid6, type Checkpoint } from "@langchain/langgraph-checkpoint";
import type { RunnableConfig } from "@langchain/core/runnables";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { main } from "../../src/cli/main.ts";
import { JetStreamCheckpointSaver } from "../../src/nats/checkpointer.ts";
import { connectNats } from "../../src/nats/connection.ts";
import { provisionLayout } from "../../src/app/backbone.ts";
import { loadTrust, runtimeLedger } from "../../src/app/trust.ts";
import { EventType } from "../../src/nats/event-types.ts";
import { AuditLedger } from "../../src/wallet/ledger.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";
import { captureIo } from "./capture.ts";

const meta = { source: "loop" as const, step: 0, parents: {} };
const checkpoint = (n: number): Checkpoint => ({ v: 4, id: uuid6(-1), ts: new Date().toISOString(), channel_values: { n }, channel_versions: { n }, versions_seen: {} });

describe("vibewriter prune", () => {
  let nats: TestNats;
  let state: string;
  const env = () => ({ PATH: process.env.PATH, NATS_URL: nats.server.url, VIBEWRITER_STATE_DIR: state });
  const prune = async (...args: string[]) => {
    const io = captureIo(env());
    expect(await main(["prune", "--json", ...args], io), io.err()).toBe(0);
    return JSON.parse(io.out()) as { compact: string[]; expire: string[]; kept: string[]; compacted?: Record<string, number>; bytesBefore: number; bytesAfter: number };
  };
  /** Checkpoints of a thread, as a fresh process reads them (this one's saver remembers what it wrote). */
  const checkpoints = async (thread: string) => {
    const nc = await connectNats({ url: nats.server.url, name: "prune-test-reader" });
    const saver = new JetStreamCheckpointSaver({ nc, js: jetstream(nc), jsm: await jetstreamManager(nc) });
    try {
      let n = 0;
      for await (const _ of saver.list({ configurable: { thread_id: thread } })) n += 1;
      return n;
    } finally {
      await saver.close();
      await nc.close();
    }
  };

  beforeAll(async () => {
    nats = await startTestNats();
    state = await mkdtemp(join(tmpdir(), "vw-prune-cli-"));
    const b = nats.backbone;
    await provisionLayout(b);
    for (const [thread, finished] of [["done", "completed"], ["waiting", "interrupted"]] as const) {
      let cfg: RunnableConfig = { configurable: { thread_id: thread, checkpoint_ns: "" } };
      for (let i = 1; i <= 4; i++) cfg = await b.checkpointer.put(cfg, checkpoint(i), { ...meta, step: i }, { n: i });
      await b.events.publish(thread, { type: EventType.RunStarted, data: { task: `task ${thread}` } });
      await b.events.publish(thread, { type: EventType.RunFinished, data: { status: finished } });
    }
    const ledger = await AuditLedger.open(b, await runtimeLedger(env(), await loadTrust(env())));
    await ledger.append("proposal", "p-1", { amount: "5", destination: "GABC" });
  });
  afterAll(async () => {
    await nats?.close();
    await rm(state, { recursive: true, force: true });
  });

  it("--dry-run says what it would do and changes nothing", async () => {
    const r = await prune("--dry-run");
    expect(r).toMatchObject({ compact: ["done"], expire: [], kept: ["waiting"] });
    expect(r.bytesAfter).toBe(r.bytesBefore);
    expect(await checkpoints("done")).toBe(4);
  });

  it("compacts the finished thread to its latest checkpoint, then expires it; the waiting thread and the ledger stay", async () => {
    const compacted = await prune();
    expect(compacted.compacted).toEqual({ done: 3 });
    expect(compacted.bytesAfter).toBeLessThan(compacted.bytesBefore);
    expect(await checkpoints("done")).toBe(1);
    expect(await checkpoints("waiting")).toBe(4);

    const expired = await prune("--older-than", "0s");
    expect(expired).toMatchObject({ compact: [], expire: ["done"], kept: ["waiting"] });
    const threads = captureIo(env());
    expect(await main(["threads", "--json"], threads)).toBe(0);
    expect((JSON.parse(threads.out()) as { threads: { threadId: string }[] }).threads.map((t) => t.threadId)).toEqual(["waiting"]);
    expect(await checkpoints("done")).toBe(0);

    const verify = captureIo(env());
    expect(await main(["ledger", "verify", "--json"], verify), verify.err()).toBe(0);
    expect(JSON.parse(verify.out())).toMatchObject({ ok: true, entries: 1 });
  });

  it("a malformed age is a usage error (exit 2) that names the forms", async () => {
    const io = captureIo(env());
    expect(await main(["prune", "--older-than", "soon"], io)).toBe(2);
    expect(io.err()).toMatch(/--older-than must be a whole number with a unit \(s, m, h, d, w\), e\.g\. 30d or 12h, or "never"; got "soon"/);
  });
});
