/**
 * The `vibewriter` NATS service on the embedded server with its identities (runtime hosts it, the
 * viewer only looks): found by the NATS micro discovery subjects as `nats micro ls` finds it,
 * submit queues a thread, status answers, stats carry the worker's numbers, and the server itself
 * keeps the viewer from submitting.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import { readSourceManifest } from "../../src/agent/sources.ts";
import { NatsRole } from "../../src/nats/auth.ts";
import { openBackbone, type Backbone } from "../../src/nats/backbone.ts";
import { RunQueue } from "../../src/nats/run-queue.ts";
import { SERVICE_SOURCE_LIMITS, startRunService, StatusSubject, SubmitSubject, type WorkerStats } from "../../src/app/run-service.ts";

const STATS: WorkerStats = { workerId: "w-test", host: "test-host", pid: 4242, concurrency: 2, inFlight: ["t-a"], finished: 3, failed: 1, takeovers: 1, vms: 2 };

const ask = async (nc: NatsConnection, subject: string, body?: unknown): Promise<Msg> =>
  nc.request(subject, body === undefined ? "" : JSON.stringify(body), { timeout: 10_000 });
const serviceError = (m: Msg) => ({ code: m.headers?.get("Nats-Service-Error-Code"), error: m.headers?.get("Nats-Service-Error") });

describe("the vibewriter NATS service", () => {
  let state: string;
  let runtime: Backbone;
  let viewer: Backbone;
  let queue: RunQueue;
  let service: { stop(): Promise<void>; id: string };

  beforeAll(async () => {
    state = await mkdtemp(join(tmpdir(), "vw-service-"));
    runtime = await openBackbone({ stateDir: state, env: {}, role: NatsRole.Runtime, name: "worker" });
    viewer = await openBackbone({ stateDir: state, env: {}, role: NatsRole.Viewer, name: "viewer" });
    queue = await RunQueue.open(runtime);
    service = await startRunService(runtime, { queue, artifacts: runtime.artifacts, worker: () => STATS });
  });
  afterAll(async () => {
    await service?.stop();
    await viewer?.close();
    await runtime?.close();
    await rm(state, { recursive: true, force: true });
  });

  it("is discovered with $SRV.PING and $SRV.INFO, as `nats micro ls` does, by any identity", async () => {
    const ping = (await ask(viewer.nc, "$SRV.PING.vibewriter")).json<{ type: string; name: string; id: string; metadata: Record<string, string> }>();
    expect(ping).toMatchObject({ type: "io.nats.micro.v1.ping_response", name: "vibewriter", id: service.id, metadata: { workerId: "w-test", host: "test-host" } });
    const info = (await ask(viewer.nc, `$SRV.INFO.vibewriter.${service.id}`)).json<{ type: string; endpoints: { name: string; subject: string }[] }>();
    expect(info.type).toBe("io.nats.micro.v1.info_response");
    expect(info.endpoints.map((e) => e.subject).sort()).toEqual([StatusSubject, SubmitSubject]);
  });

  it("submit queues a new thread (inline sources stored with it); status tells it is queued", async () => {
    const base64 = Buffer.from("# Memo\nNorthwind's revenue grew 12% in 2025.\n").toString("base64");
    const reply = await ask(runtime.nc, SubmitSubject, { task: "Assess Northwind", threadId: "svc-1", maxModelCalls: 30, sources: [{ name: "memo.md", base64 }] });
    expect(serviceError(reply).code).toBeUndefined();
    expect(reply.json()).toEqual({ threadId: "svc-1", status: "queued" });
    expect((await readSourceManifest(runtime.blobs, "svc-1")).map((s) => s.origin)).toEqual(["memo.md"]);

    const status = (await ask(viewer.nc, StatusSubject, { threadId: "svc-1" })).json();
    expect(status).toEqual({ threadId: "svc-1", status: "queued", task: "Assess Northwind", queueDepth: 1 });

    const got = await queue.next({ expiresMs: 5_000 });
    expect(got?.request).toMatchObject({ kind: "run", threadId: "svc-1", task: "Assess Northwind", maxModelCalls: 30 });
    await got!.ack();
  });

  it("answers bad requests with service errors and codes", async () => {
    expect(serviceError(await ask(runtime.nc, SubmitSubject, { threadId: "svc-2" }))).toEqual({ code: "400", error: "submit needs a task" });
    expect(serviceError(await ask(runtime.nc, SubmitSubject, { task: "x", threadId: "bad id!" }))).toMatchObject({ code: "400", error: expect.stringMatching(/invalid thread id/) });
    expect(serviceError(await ask(runtime.nc, SubmitSubject, { task: "x", sources: [{ name: "../etc/passwd", base64: "eA==" }] }))).toMatchObject({ code: "400" });
    expect(serviceError(await ask(runtime.nc, SubmitSubject, { task: "again", threadId: "svc-1" }))).toMatchObject({ code: "409", error: expect.stringMatching(/already exists/) });
    const big = Buffer.alloc(SERVICE_SOURCE_LIMITS.maxFileBytes + 1, "a").toString("base64");
    expect(serviceError(await ask(runtime.nc, SubmitSubject, { task: "x", threadId: "svc-big", sources: [{ name: "big.txt", base64: big }] }))).toEqual({
      code: "400",
      error: `source big.txt: ${SERVICE_SOURCE_LIMITS.maxFileBytes + 1} bytes; at most ${SERVICE_SOURCE_LIMITS.maxFileBytes} inline`,
    });
    const binary = Buffer.from([0, 1, 2, 0, 255, 0, 3]).toString("base64");
    expect(serviceError(await ask(runtime.nc, SubmitSubject, { task: "x", threadId: "svc-bin", sources: [{ name: "blob.bin", base64: binary }] }))).toMatchObject({ code: "400", error: expect.stringMatching(/^refused the sources: blob\.bin/) });
    expect(await runtime.events.threads()).not.toContain("svc-big");
    expect(serviceError(await ask(viewer.nc, StatusSubject, { threadId: "nobody" }))).toEqual({ code: "404", error: 'unknown thread "nobody"' });
    expect(await queue.depth()).toBe(0);
  });

  it("STATS carries the worker's numbers", async () => {
    const stats = (await ask(viewer.nc, "$SRV.STATS.vibewriter")).json<{ type: string; endpoints: { name: string; num_requests: number; data: WorkerStats }[] }>();
    expect(stats.type).toBe("io.nats.micro.v1.stats_response");
    expect(stats.endpoints.find((e) => e.name === "submit")).toMatchObject({ data: STATS });
    expect(stats.endpoints.find((e) => e.name === "submit")!.num_requests).toBeGreaterThan(0);
  });

  it("the viewer may ask status but not submit: the server refuses the publish", async () => {
    await expect(ask(viewer.nc, SubmitSubject, { task: "sneaky", threadId: "svc-viewer" })).rejects.toThrow(/permission/i);
    expect(await runtime.events.threads()).not.toContain("svc-viewer");
    expect(await queue.depth()).toBe(0);
  });
});
