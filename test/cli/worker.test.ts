/**
 * `vibewriter worker` as real processes on a real nats-server, runs in real microVMs, the model
 * scripted: a worker runs what was queued, several at once; a worker SIGKILLed mid-run loses the
 * thread to another worker, which resumes it from its checkpoint without running any side effect
 * twice. Along the way, the fleet's metrics: `run.started` names the worker, `run.finished` its
 * wall time, `lease.taken_over` the worker gone silent; the STATS a live worker answers.
 */
import { DEMO_TASK } from "../../src/agent/demo-model.ts";
import { JOURNALED_TOOLS } from "../../src/agent/middleware/effect-journal.ts";
import { queueThread } from "../../src/agent/queue-thread.ts";
import { SAMPLES_DIR } from "../../src/agent/samples.ts";
import { loadSourcesDir } from "../../src/agent/sources.ts";
import { renderFleet } from "../../src/cli/commands/fleet.ts";
import type { EventData, VibewriterEvent } from "../../src/nats/event-types.ts";
import type { WorkerStats } from "../../src/app/run-service.ts";
import { readStream } from "../../src/nats/read-stream.ts";
import { RunQueue } from "../../src/nats/run-queue.ts";
import { Names } from "../../src/nats/streams.ts";
import { ThreadLeases } from "../../src/nats/thread-lease.ts";
import { descendants, spawnCli, type CliChild } from "./child.ts";
import { linesOf, type RunLine } from "./worker-lines.ts";
import { freezeVms } from "./freeze-vms.ts";
import { useCliChildWorld, type CliChildWorld } from "./child-world.ts";

/** A dead worker's requests come back after this. */
const ACK_WAIT_MS = 4_000;


/** Resolves with the worker's line for each thread once all have ended (rejects if the worker exits first). */
async function ended(w: CliChild, threads: string[]): Promise<RunLine[]> {
  for (const t of threads) await w.waitForOutput(new RegExp(`"threadId":"${t}","kind":"\\w+","outcome":"(?!held)`));
  return threads.map((t) => linesOf(w).find((l) => l.threadId === t && l.outcome !== "held")!);
}

async function queue(world: CliChildWorld, threadId: string): Promise<void> {
  const b = world.nats.backbone;
  await RunQueue.open(b, { ackWaitMs: ACK_WAIT_MS }); // the queue exists before any worker opens it
  await queueThread(
    b,
    { threadId, task: DEMO_TASK, sources: await loadSourcesDir(SAMPLES_DIR), skills: [], allowNetwork: false, by: "test" },
  );
}

/** The STATS the one live worker answers on `$SRV.STATS.vibewriter` (what `vibewriter fleet` shows). */
async function statsOf(world: CliChildWorld): Promise<WorkerStats> {
  const m = await world.nats.nc.request("$SRV.STATS.vibewriter", "", { timeout: 30_000 });
  return m.json<{ endpoints: { data: WorkerStats }[] }>().endpoints[0]!.data;
}

/** The data of the thread's stored events of one type. */
const dataOf = <T extends keyof EventData>(events: VibewriterEvent[], type: T): EventData[T][] =>
  events.filter((e) => e.type === type).map((e) => e.data as EventData[T]);

async function storedEvents(world: CliChildWorld, threadId: string): Promise<VibewriterEvent[]> {
  const out: VibewriterEvent[] = [];
  await readStream(world.nats.backbone.js, Names.eventsStream, `${world.nats.backbone.events.threadSubject(threadId)}.>`, (m) => out.push(m.json<VibewriterEvent>()));
  return out;
}

/** (agent, call id, tool) of every journaled tool call that really executed, with how many times. */
function executions(events: VibewriterEvent[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of events) {
    if (e.type !== "tool.finished" || e.data.replayed === true) continue;
    if (!(JOURNALED_TOOLS as readonly string[]).includes(String(e.data.tool))) continue;
    const key = `${e.agent}:${String(e.data.callId)}:${String(e.data.tool)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

describe("vibewriter worker", () => {
  const world = useCliChildWorld();
  // A dead worker's requests come back after 4 s; its leases expire after 3 s (+ margin).
  const env = () => ({ ...world.env(), VIBEWRITER_RUN_ACK_WAIT_SEC: String(ACK_WAIT_MS / 1000), VIBEWRITER_LEASE_TTL_SEC: "3" });
  const citations = new Map<string, number>();

  it("runs the queued threads, two at once, to their reports", async () => {
    const threads = ["worker-a", "worker-b"];
    for (const t of threads) await queue(world, t);
    const worker = spawnCli(["worker", "-c", "2", "--json"], env());
    const lines = await ended(worker, threads);
    world.leftovers.push(...descendants(worker.child.pid!));
    for (const l of lines) expect(l).toMatchObject({ outcome: "finished", status: "completed", takenOver: false, deliveryCount: 1 });
    // Both ran in this one worker at the same time: each started before either ended.
    const started = threads.map((t) => world.observer.events.findIndex((e) => e.threadId === t && e.type === "run.started"));
    const finished = threads.map((t) => world.observer.events.findIndex((e) => e.threadId === t && e.type === "run.finished"));
    expect(Math.max(...started)).toBeLessThan(Math.min(...finished));

    // Metrics: the worker's STATS count both runs and their wall times (the same as its lines').
    const stats = await statsOf(world);
    const walls = lines.map((l) => l.wallMs);
    expect(stats).toMatchObject({ workerId: lines[0]!.workerId, pid: worker.child.pid, concurrency: 2, finished: 2, failed: 0, takeovers: 0, inFlight: [], running: [] });
    expect(stats.wallMs).toEqual({ runs: 2, last: stats.wallMs!.last, mean: Math.round((walls[0]! + walls[1]!) / 2), max: Math.max(...walls) });
    expect(walls).toContain(stats.wallMs!.last);
    expect(stats.pool).toMatchObject({ inUse: 0, failed: 0 });
    expect(stats.pool!.restored).toBeGreaterThanOrEqual(2); // a VM per run at least
    expect(stats.lastTakeover).toBeUndefined();

    worker.child.kill("SIGTERM");
    expect((await worker.exited).code, worker.stderr()).toBe(0);
    expect(await (await RunQueue.open(world.nats.backbone, { ackWaitMs: ACK_WAIT_MS })).depth()).toBe(0);
    const leases = await ThreadLeases.open(world.nats.backbone);
    for (const t of threads) {
      const stored = await storedEvents(world, t);
      expect(stored.filter((e) => e.type === "report.published")).toHaveLength(1);
      citations.set(t, stored.filter((e) => e.type === "citation").length);
      expect(citations.get(t)).toBeGreaterThan(0);
      expect(await leases.holderOf(t)).toBeUndefined(); // released
      // run.started names the worker; run.finished carries the wall time, within the worker's own for the request.
      const runner = { kind: "worker", id: lines[0]!.workerId, host: stats.host, pid: worker.child.pid };
      expect(dataOf(stored, "run.started")).toEqual([expect.objectContaining({ runner, takenOver: false })]);
      const [end] = dataOf(stored, "run.finished");
      expect(Number.isInteger(end!.wallMs) && end!.wallMs! > 0).toBe(true);
      expect(end!.wallMs).toBeLessThanOrEqual(lines.find((l) => l.threadId === t)!.wallMs);
      expect(dataOf(stored, "lease.taken_over")).toEqual([]);
    }
    expect(citations.get("worker-a")).toBe(citations.get("worker-b"));
  });

  it("a worker SIGKILLed mid-run: another takes the thread over and finishes it, no side effect twice", async () => {
    const thread = "worker-killed";
    await queue(world, thread);
    const victim = spawnCli(["worker", "-c", "1", "--json"], env());
    // Killed while the main agent's skill script runs in the VM: earlier side effects are done.
    const inFlight = world.observer.waitFor((e) => e.threadId === thread && e.type === "tool.started" && e.agent === "main" && e.data.tool === "execute");
    const early = victim.exited.then((x) => {
      throw new Error(`the worker ended (${x.code ?? x.signal}) before the kill point:\n${victim.stdout()}\n${victim.stderr()}`);
    });
    await Promise.race([inFlight, early]);
    world.leftovers.push(...descendants(victim.child.pid!));
    victim.child.kill("SIGKILL");
    expect((await victim.exited).signal).toBe("SIGKILL");
    await world.nats.nc.flush();
    const beforeKill = world.observer.of(thread);
    expect(beforeKill.some((e) => e.type === "run.finished")).toBe(false); // really mid-run

    const heir = spawnCli(["worker", "-c", "1", "--json"], env());
    const [line] = await ended(heir, [thread]);
    world.leftovers.push(...descendants(heir.child.pid!));
    expect(line).toMatchObject({ outcome: "finished", status: "completed", takenOver: true });
    expect(line!.deliveryCount).toBeGreaterThan(1); // the dead worker's request, redelivered
    // The heir's STATS: one takeover, from the dead worker, and the run's wall time.
    const [victimStart] = dataOf(world.observer.of(thread), "run.started");
    const victimId = victimStart!.runner!.id;
    const stats = await statsOf(world);
    expect(stats).toMatchObject({ finished: 1, takeovers: 1, running: [], lastTakeover: { threadId: thread, from: victimId } });
    expect(stats.wallMs).toEqual({ runs: 1, last: line!.wallMs, mean: line!.wallMs, max: line!.wallMs });
    heir.child.kill("SIGTERM");
    expect((await heir.exited).code, heir.stderr()).toBe(0);

    // One report, as many citations as an uninterrupted run's, every journaled call run once.
    const stored = await storedEvents(world, thread);
    expect(stored.filter((e) => e.type === "report.published")).toHaveLength(1);
    expect(stored.filter((e) => e.type === "citation")).toHaveLength(citations.get("worker-a")!);
    // Metrics: the takeover is on the thread (from the dead worker, by the heir), and so is who ran each run.
    expect(victimStart).toMatchObject({ runner: { kind: "worker", pid: victim.child.pid }, takenOver: false });
    const heirRunner = { kind: "worker", id: line!.workerId, host: victimStart!.runner!.host, pid: heir.child.pid };
    const [takeover, ...more] = dataOf(stored, "lease.taken_over");
    expect(more).toEqual([]);
    expect(takeover).toMatchObject({ from: victimStart!.runner, by: heirRunner });
    expect(Number.isInteger(takeover!.silentMs) && takeover!.silentMs >= 0).toBe(true);
    expect(dataOf(stored, "run.started").at(-1)).toMatchObject({ resumed: true, runner: heirRunner, takenOver: true });
    const twice = [...executions(world.observer.of(thread))].filter(([, n]) => n > 1);
    expect(twice).toEqual([]);
    expect(await (await RunQueue.open(world.nats.backbone, { ackWaitMs: ACK_WAIT_MS })).depth()).toBe(0);
  });

  it("Ctrl-C hands the run in flight back to the queue, its lease released, and exits 0", async () => {
    const thread = "worker-stopped";
    await queue(world, thread);
    // Its VM frozen once the run started (never replaced): the run is surely in flight at Ctrl-C.
    const worker = spawnCli(["worker", "--json"], { ...env(), VIBEWRITER_AGENT_TIMEOUT_SEC: "3600" });
    const early = worker.exited.then((x) => {
      throw new Error(`the worker ended (${x.code ?? x.signal}) before its run started:\n${worker.stdout()}\n${worker.stderr()}`);
    });
    await Promise.race([world.observer.waitFor((e) => e.threadId === thread && e.type === "run.started"), early]);
    world.leftovers.push(...freezeVms(worker.child.pid!));
    // In flight: STATS list the run with its age, its VM in use; fleet shows it under the worker.
    const stats = await statsOf(world);
    expect(stats).toMatchObject({ inFlight: [thread], running: [{ threadId: thread, kind: "run", takenOver: false }], finished: 0, wallMs: null });
    expect(stats.running![0]!.ageMs).toBeGreaterThanOrEqual(0);
    expect(stats.pool!.inUse).toBe(1);
    expect(renderFleet({ queueDepth: 1, workers: [{ ...stats, serviceId: "s", version: "1.0.0" }] })).toMatch(new RegExp(`\n  running: ${thread} \\(run, \\d+\\.\\d s\\)\n`));

    worker.child.kill("SIGINT");
    const [line] = await ended(worker, [thread]);
    expect(line).toMatchObject({ outcome: "handed_back", deliveryCount: 1 });
    expect((await worker.exited).code, worker.stderr()).toBe(0);
    expect(await (await ThreadLeases.open(world.nats.backbone)).holderOf(thread)).toBeUndefined();
    expect(await (await RunQueue.open(world.nats.backbone, { ackWaitMs: ACK_WAIT_MS })).depth()).toBe(1); // back, for the next worker
    expect(world.observer.of(thread).some((e) => e.type === "run.failed")).toBe(false); // stopped, not failed
  });
});
