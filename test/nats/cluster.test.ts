/**
 * Vibewriter on a real 3-node nats-server cluster (routes, JetStream, the installation's identities),
 * with NATS_URL of three seeds and VIBEWRITER_NATS_REPLICAS=3.
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import { uuid6, type Checkpoint } from "@langchain/langgraph-checkpoint";
import { Kvm } from "@nats-io/kv";
import { provisionLayout } from "../../src/app/backbone.ts";
import { NatsRole } from "../../src/nats/auth.ts";
import { openBackbone, type Backbone } from "../../src/nats/backbone.ts";
import { NatsBackboneError, NatsErrorCode } from "../../src/nats/errors.ts";
import { streamReplicas, vibewriterStreams, type StreamReplicas } from "../../src/nats/replicas.ts";
import { kvStreamName, Names, objectStoreStreamName } from "../../src/nats/streams.ts";
import { AuditLedger, LedgerEntryType } from "../../src/wallet/ledger.ts";
import { startTestCluster, type TestCluster } from "../support/nats-cluster.ts";

const meta = { source: "loop" as const, step: 0, parents: {} };
const checkpoint = (values: Record<string, unknown>): Checkpoint => ({
  v: 4,
  id: uuid6(-1),
  ts: new Date().toISOString(),
  channel_values: values,
  channel_versions: { v: 1 },
  versions_seen: {},
});
const thread = (id: string): RunnableConfig => ({ configurable: { thread_id: id, checkpoint_ns: "" } });

/** Poll `check` until it holds (a condition, not a delay); fail with `what` after 30 s. */
async function until<T>(what: string, check: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("Vibewriter on a 3-node NATS cluster, R3", () => {
  let tc: TestCluster;
  let backbone: Backbone;
  const open = (role: NatsRole, replicas?: string) =>
    openBackbone({ natsUrl: tc.urls, env: replicas ? { VIBEWRITER_NATS_REPLICAS: replicas } : {}, stateDir: tc.stateDir, name: `cluster-${role}`, role, provision: provisionLayout });

  beforeAll(async () => {
    tc = await startTestCluster();
    backbone = await open(NatsRole.Runtime, "3");
  }, 60_000);
  afterAll(async () => {
    await backbone?.close();
    await tc?.close();
  });

  it("opens through three seed URLs as the runtime identity; every stream and bucket has 3 replicas", async () => {
    expect(tc.urls.split(",")).toHaveLength(3);
    expect(backbone.auth).toBe("nkey");
    expect(backbone.replicas).toBe(3);
    const streams = await vibewriterStreams(backbone.jsm);
    expect(streams.map((s) => s.name)).toEqual(
      expect.arrayContaining([
        Names.stateStream,
        Names.eventsStream,
        kvStreamName(Names.memoryBucket),
        objectStoreStreamName(Names.filesBucket),
        Names.ledgerStream,
        kvStreamName(Names.paymentsBucket),
        kvStreamName(Names.mandatesBucket),
        Names.choirStream,
        kvStreamName(Names.choirReportsBucket),
        objectStoreStreamName(Names.choirBodiesBucket),
      ]),
    );
    for (const s of streams) {
      expect(s, s.name).toMatchObject({ replicas: 3 });
      expect(s.peers, s.name).toHaveLength(2);
    }
  });

  it("killing the node that leads the state stream loses no acknowledged write; reads and writes go on; the node restarted catches up", async () => {
    const { checkpointer, store, artifacts } = backbone;
    const ledger = await AuditLedger.open(backbone, { replicas: backbone.replicas });
    const body = new Uint8Array(300 * 1024).map((_, i) => (i * 31) % 251);
    for (const id of ["t-1", "t-2", "t-3"]) await checkpointer.put(thread(id), checkpoint({ v: `before ${id}` }), meta, { v: 1 });
    await store.put(["memories"], "AGENTS.md", { text: "acknowledged before the crash" });
    await artifacts.put("t-1/sources/paper.bin", body);
    for (const p of ["p-1", "p-2"]) await ledger.append(LedgerEntryType.Proposal, p, { amount: "1" });

    const names = (await vibewriterStreams(backbone.jsm)).map((s) => s.name);
    const eachStream = () => Promise.all(names.map(async (n) => streamReplicas(await backbone.jsm.streams.info(n))));
    const victim = (await backbone.jsm.streams.info(Names.stateStream)).cluster!.leader!;
    await tc.kill(victim);
    // JetStream's meta group (which places consumers) and every stream have a leader among the two nodes left.
    expect(await tc.waitForJetStream()).not.toBe(victim);
    await until(`new leaders without ${victim}`, async () => (await eachStream()).every((s) => s.leader && s.leader !== victim));

    for (const id of ["t-1", "t-2", "t-3"]) expect((await checkpointer.getTuple(thread(id)))?.checkpoint.channel_values).toEqual({ v: `before ${id}` });
    expect((await store.get(["memories"], "AGENTS.md"))?.value).toEqual({ text: "acknowledged before the crash" });
    expect(Buffer.from(await artifacts.getBytes("t-1/sources/paper.bin")).equals(Buffer.from(body))).toBe(true);
    expect(await ledger.verify()).toMatchObject({ ok: true, entries: 2 });

    // New writes, acknowledged by the two nodes left.
    await checkpointer.put(thread("t-4"), checkpoint({ v: "during" }), meta, { v: 1 });
    await store.put(["memories"], "during.md", { text: "written with a node down" });
    await artifacts.put("t-4/report.md", "# during");
    await ledger.append(LedgerEntryType.Proposal, "p-3", { amount: "1" });
    expect((await checkpointer.getTuple(thread("t-4")))?.checkpoint.channel_values).toEqual({ v: "during" });
    expect(new TextDecoder().decode(await artifacts.getBytes("t-4/report.md"))).toBe("# during");
    expect(await ledger.verify()).toMatchObject({ ok: true, entries: 3 });

    await tc.restart(victim);
    // The restarted node is a current replica of every stream again (or leads it).
    const caughtUp = (s: StreamReplicas) => s.leader === victim || s.peers.some((p) => p.name === victim && p.current);
    const streams = await until(`${victim} current on every stream`, async () => {
      const all = await eachStream();
      return all.every(caughtUp) && all;
    });
    for (const s of streams) expect(s.replicas).toBe(3);
    const info = await backbone.jsm.streams.info(Names.stateStream);
    expect(info.state.messages).toBeGreaterThanOrEqual(4);
  });

  it("a reader whose live tail was on the node that died sees what another process writes after it, instead of waiting for ever", async () => {
    // The checkpointer follows the state stream with one consumer, an R1 placed on one node.
    await backbone.checkpointer.put(thread("t-tail"), checkpoint({ v: "first" }), meta, { v: 1 });
    expect((await backbone.checkpointer.getTuple(thread("t-tail")))?.checkpoint.channel_values).toEqual({ v: "first" });
    const tailNode = await until("the tail's consumer", async () => {
      for await (const c of backbone.jsm.consumers.list(Names.stateStream)) {
        if (!c.config.durable_name && c.config.headers_only && c.cluster?.leader) return c.cluster.leader;
      }
      return undefined;
    });
    await tc.kill(tailNode);
    await tc.waitForJetStream();
    const writer = await open(NatsRole.Runtime, "3");
    try {
      const stateLeader = async () => (await writer.jsm.streams.info(Names.stateStream)).cluster?.leader;
      await until(`a state stream leader without ${tailNode}`, async () => ((await stateLeader()) ?? tailNode) !== tailNode);
      await writer.checkpointer.put(thread("t-tail"), checkpoint({ v: "written elsewhere" }), meta, { v: 2 });
      expect((await backbone.checkpointer.getTuple(thread("t-tail")))?.checkpoint.channel_values).toEqual({ v: "written elsewhere" });
    } finally {
      await writer.close();
      await tc.restart(tailNode);
    }
  });

  it("the viewer identity reads the cluster and writes nothing", async () => {
    const viewer = await open(NatsRole.Viewer);
    try {
      expect(viewer.auth).toBe("nkey");
      expect((await viewer.checkpointer.getTuple(thread("t-1")))?.checkpoint.channel_values).toEqual({ v: "before t-1" });
      const refused = (p: Promise<unknown>) => expect(p).rejects.toThrow(/Permissions Violation/);
      await refused(viewer.js.publish(`${Names.stateSubjectPrefix}.forged`, "{}"));
      await refused(viewer.js.publish(Names.ledgerSubject, "{}"));
      await refused((await new Kvm(viewer.js).open(Names.memoryBucket)).put("AGENTS.md", "pay G… instead"));
      await refused(viewer.jsm.streams.update(Names.stateStream, { num_replicas: 1 }));
    } finally {
      await viewer.close();
    }
  });

  it("a replica count other than the streams have is refused with their names, and nothing is rescaled", async () => {
    const err = await open(NatsRole.Runtime, "1").catch((e: unknown) => e);
    expect(NatsBackboneError.isInstance(err, NatsErrorCode.ReplicasMismatch)).toBe(true);
    expect((err as Error).message).toMatch(/VIBEWRITER_NATS_REPLICAS=1/);
    expect((err as Error).message).toContain(`${Names.stateStream} R3`);
    expect((err as Error).message).toContain(`${kvStreamName(Names.memoryBucket)} R3`);
    for (const s of await vibewriterStreams(backbone.jsm)) expect(s.replicas).toBe(3);
  });
});
