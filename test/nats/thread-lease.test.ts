/**
 * One runner per thread: the lease in KV on a real nats-server. Holders on their own connections
 * stand for processes on different machines; a short TTL keeps expiry quick.
 */
import { spawnSync } from "node:child_process";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { connectNats } from "../../src/nats/connection.ts";
import { kvStreamName, Names } from "../../src/nats/streams.ts";
import { LeaseHeldError, LeaseLostError, ThreadLeases, type LeaseHolder, type ThreadLease } from "../../src/nats/thread-lease.ts";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { startTestNats, type TestNats } from "../support/nats.ts";
import { startTestCluster, type TestCluster } from "../support/nats-cluster.ts";

const TTL_MS = 600;
/** Holders in this test process: its pid is alive, so only the TTL can free their leases. */
const holder = (id: string, kind: LeaseHolder["kind"] = "worker"): LeaseHolder => ({ id, host: `host-${id}`, pid: process.pid, kind });

/** Takes the lease once its holder has let it go, retrying when `acquire` says it may (as a worker does). */
async function acquireWhenFree(leases: ThreadLeases, threadId: string, who: LeaseHolder): Promise<ThreadLease> {
  for (;;) {
    try {
      return await leases.acquire(threadId, who);
    } catch (e) {
      if (!LeaseHeldError.isInstance(e)) throw e;
      await new Promise((r) => setTimeout(r, e.retryInMs));
    }
  }
}

describe("ThreadLeases", () => {
  let t: TestNats;
  const connections: NatsConnection[] = [];
  /** A process of its own: its own connection and its own ThreadLeases. */
  const machine = async (ttlMs = TTL_MS) => {
    const nc = await connectNats({ url: t.server.url, name: "lease-test" });
    connections.push(nc);
    const leases = await ThreadLeases.open({ js: jetstream(nc), jsm: await jetstreamManager(nc) }, { ttlMs });
    return { nc, leases };
  };

  beforeAll(async () => {
    t = await startTestNats();
  });
  afterAll(async () => {
    for (const nc of connections) await nc.close().catch(() => {});
    await t?.close();
  });

  it("is exclusive, and a refusal names the holder", async () => {
    const a = await machine();
    const b = await machine();
    const lease = await a.leases.acquire("t-exclusive", holder("w-a"));
    expect(lease.takenOver).toBe(false);
    const refused = await b.leases.acquire("t-exclusive", holder("w-b", "run")).catch((e: unknown) => e);
    expect(LeaseHeldError.isInstance(refused)).toBe(true);
    const held = refused as LeaseHeldError;
    expect(held.code).toBe("lease_held");
    expect(held.holder).toEqual(holder("w-a"));
    expect(held.renewedAgoMs).toBeGreaterThanOrEqual(0);
    expect(held.message).toContain(`a worker on host host-w-a (pid ${process.pid}, id w-a)`);
    expect(await b.leases.holderOf("t-exclusive")).toMatchObject({ ...holder("w-a"), expired: false });
    await lease.release();
  });

  it("renewals keep it past its TTL; release frees it", async () => {
    const a = await machine();
    const b = await machine();
    const lease = await a.leases.acquire("t-renew", holder("w-a"));
    // Wait (on the server's record, not a clock) for renewals spanning well over TTL + margin.
    const kv = await new Kvm(t.backbone.js).open(Names.leasesBucket);
    const watch = await kv.watch({ key: "thread.t-renew" });
    let renewals = 0;
    for await (const e of watch) {
      if (e.operation === "PUT" && ++renewals >= 12) break;
    }
    await expect(b.leases.acquire("t-renew", holder("w-b"))).rejects.toThrow(LeaseHeldError);
    await lease.release();
    expect(await b.leases.holderOf("t-renew")).toBeUndefined();
    const next = await b.leases.acquire("t-renew", holder("w-b"));
    expect(next.takenOver).toBe(false);
    await next.release();
    // A lease released twice, or released after another took it, changes nothing.
    await lease.release();
    expect(await b.leases.holderOf("t-renew")).toBeUndefined();
  });

  it("a holder that stops renewing loses it; another takes it over after the TTL", async () => {
    const a = await machine();
    const b = await machine();
    const lease = await a.leases.acquire("t-expire", holder("w-dead"));
    await a.nc.close(); // the holder's machine is cut off: no renewal reaches the server
    await expect(lease.lost).rejects.toThrow(LeaseLostError);
    await expect(lease.lost).rejects.toThrow(/could not be renewed/);
    const taken = await acquireWhenFree(b.leases, "t-expire", holder("w-b"));
    expect(taken.takenOver).toBe(true);
    expect(taken.previous).toEqual(holder("w-dead"));
    await taken.release();
  });

  it("a holder whose lease was taken by another learns it at its next renewal, with who took it", async () => {
    const a = await machine();
    const lease = await a.leases.acquire("t-stolen", holder("w-a"));
    // Another process overwrote the record (not through acquire: as a partitioned one might).
    const kv = await new Kvm(t.backbone.js).open(Names.leasesBucket);
    await kv.put("thread.t-stolen", JSON.stringify({ v: 1, holder: holder("w-thief"), ttlMs: TTL_MS }));
    const lost = await lease.lost.catch((e: unknown) => e);
    expect(LeaseLostError.isInstance(lost)).toBe(true);
    expect((lost as LeaseLostError).takenBy).toEqual(holder("w-thief"));
    await lease.release(); // must not free the thief's lease
    expect(await a.leases.holderOf("t-stolen")).toMatchObject(holder("w-thief"));
  });

  it("a holder on this machine whose process is gone is taken over at once", async () => {
    const a = await machine(60_000); // a TTL far longer than this test
    const dead = spawnSync(process.execPath, ["-e", ""]).pid; // a pid that existed and exited
    const crashed = { ...holder("w-crashed", "run"), pid: dead };
    await a.leases.acquire("t-crashed", crashed);
    const next = await a.leases.acquire("t-crashed", holder("w-next", "run"));
    expect(next.takenOver).toBe(true);
    expect(next.previous).toEqual(crashed);
    await next.release();
  });

  it("of racing acquirers, exactly one wins; the others are told who", async () => {
    const racers = await Promise.all([1, 2, 3, 4, 5].map(() => machine(5_000)));
    const results = await Promise.allSettled(racers.map((r, i) => r.leases.acquire("t-race", holder(`w-${i}`))));
    const won = results.filter((r): r is PromiseFulfilledResult<ThreadLease> => r.status === "fulfilled");
    expect(won).toHaveLength(1);
    const winner = won[0]!.value.holder;
    for (const r of results) {
      if (r.status === "rejected") {
        expect(LeaseHeldError.isInstance(r.reason)).toBe(true);
        expect((r.reason as LeaseHeldError).holder).toEqual(winner);
      }
    }
    await won[0]!.value.release();
  });

  it("keys any thread id, and refuses a bad TTL or holder", async () => {
    const a = await machine();
    const lease = await a.leases.acquire("weird id/ü.*>", holder("w-a"));
    expect(await a.leases.holderOf("weird id/ü.*>")).toMatchObject(holder("w-a"));
    expect(await a.leases.holderOf("weird id/ü.*")).toBeUndefined();
    await lease.release();
    await expect(ThreadLeases.open(t.backbone, { ttlMs: 10 })).rejects.toThrow(/TTL/);
    await expect(a.leases.acquire("t-bad", { id: "", host: "h", pid: 1, kind: "worker" })).rejects.toThrow(/holder/);
  });
});

describe("ThreadLeases on a 3-node cluster (R3)", () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await startTestCluster();
  });
  afterAll(async () => {
    await c?.close();
  });

  it("holders connected to different nodes: exactly one wins a race, the others are told who", async () => {
    const open = async (url: string) => {
      const nc = await connectNats({ url, name: "lease-cluster-test", nkeySeed: c.runtime.seed });
      return { nc, leases: await ThreadLeases.open({ js: jetstream(nc), jsm: await jetstreamManager(nc) }, { replicas: 3, ttlMs: 5_000 }) };
    };
    const racers = await Promise.all(c.cluster.nodes.map((n) => open(n.url)));
    try {
      const info = await jetstreamManager(racers[0]!.nc).then((jsm) => jsm.streams.info(kvStreamName(Names.leasesBucket)));
      expect(info.config.num_replicas).toBe(3);
      const results = await Promise.allSettled(racers.map((r, i) => r.leases.acquire("t-cluster", holder(`w-node-${i}`))));
      const won = results.filter((r): r is PromiseFulfilledResult<ThreadLease> => r.status === "fulfilled");
      expect(won).toHaveLength(1);
      for (const r of results) {
        if (r.status === "rejected") expect((r.reason as LeaseHeldError).holder).toEqual(won[0]!.value.holder);
      }
      // Every node answers who holds it (reads go to the stream's leader).
      for (const r of racers) expect(await r.leases.holderOf("t-cluster")).toMatchObject(won[0]!.value.holder);
      await won[0]!.value.release();
      for (const r of racers) expect(await r.leases.holderOf("t-cluster")).toBeUndefined();
    } finally {
      for (const r of racers) await r.nc.close();
    }
  });
});
