/**
 * The fleet's proof (issue 14), on a real 3-node nats-server cluster (R3) with real worker
 * processes, real microVMs and the scripted model: two workers run six submitted threads; one
 * worker is SIGKILLed mid-run and the other takes its threads over; one NATS node is SIGKILLed
 * mid-run; every report equals an uninterrupted run's, no side effect ran twice, nothing
 * acknowledged is lost. Then a second `vibewriter resume` of a thread being resumed is refused.
 *
 * The workers use the default ack wait and lease TTL (the ones the takeover bound is made of).
 */
import { DEMO_TASK } from "../../src/agent/demo-model.ts";
import { JOURNALED_TOOLS } from "../../src/agent/middleware/effect-journal.ts";
import { SAMPLES_DIR } from "../../src/agent/samples.ts";
import { REPORT_ARTIFACT } from "../../src/agent/tools/publish.ts";
import { provisionLayout } from "../../src/app/backbone.ts";
import { nkeys, type NatsConnection } from "@nats-io/transport-node";
import { NatsRole, type NatsUser } from "../../src/nats/auth.ts";
import { openBackbone, type Backbone } from "../../src/nats/backbone.ts";
import { connectNats } from "../../src/nats/connection.ts";
import type { VibewriterEvent } from "../../src/nats/event-types.ts";
import { readStream } from "../../src/nats/read-stream.ts";
import { RunQueue } from "../../src/nats/run-queue.ts";
import { Names } from "../../src/nats/streams.ts";
import { ThreadLeases } from "../../src/nats/thread-lease.ts";
import { imagesDir } from "../../src/sandbox/image/build.ts";
import { startTestCluster, type TestCluster } from "../support/nats-cluster.ts";
import { descendants, killAll, spawnCli, type CliChild } from "./child.ts";
import { linesOf, type RunLine } from "./worker-lines.ts";
import { EventObserver } from "./event-observer.ts";
import { requireGuestImage } from "./guest-image.ts";

const THREADS = ["fleet-1", "fleet-2", "fleet-3", "fleet-4", "fleet-5", "fleet-6"];
/**
 * The test's observer hears every event publish as it happens, including the copies the log drops
 * (`EventObserver`): no Vibewriter identity may subscribe to those subjects, so it has its own.
 */
const OBSERVER_SEED = nkeys.createUser().getSeed();
const observerUser = (): NatsUser => ({
  role: NatsRole.Viewer,
  nkey: nkeys.fromSeed(OBSERVER_SEED).getPublicKey(),
  permissions: { publish: { allow: [], deny: [">"] }, subscribe: { allow: [`${Names.eventsSubjectPrefix}.>`, `${Names.duplicateEventsSubjectPrefix}.>`, "_INBOX.>"], deny: [] } },
});
/** Captured before anything points VIBEWRITER_STATE_DIR at the cluster's folder. */
const IMAGES_DIR = imagesDir();


/** The line that ended each thread in worker `w` (a "held" request is put back, not ended). */
async function ended(w: CliChild, threads: string[]): Promise<RunLine[]> {
  // Not ends: held (lease elsewhere), handed back (NATS did not answer while the node died: queued
  // again), lease lost (renewals failed through the leader election: the request comes back after
  // the ack wait and the thread is taken over from its checkpoint).
  for (const t of threads) {
    await w.waitForOutput(new RegExp(`"threadId":"${t}","kind":"\\w+","outcome":"(?!held|handed_back|lease_lost)`));
    process.stderr.write(`[fleet] ${t} ended\n`);
  }
  return threads.map((t) => linesOf(w).find((l) => l.threadId === t && !["held", "handed_back", "lease_lost"].includes(l.outcome))!);
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

describe("a fleet of workers on a 3-node NATS cluster", () => {
  let tc: TestCluster;
  let backbone: Backbone;
  let observer: EventObserver;
  /** The node the observer is connected to (never killed: it counts every publish). */
  let observerNode: string;
  let observerNc: NatsConnection | undefined;
  const leftovers: number[] = [];
  /** Workers started, to show what they printed when a test fails. */
  const workers: CliChild[] = [];
  const t0 = performance.now();
  /** Progress on stderr: where a slow or stuck run was. */
  const note = (m: string) => process.stderr.write(`[fleet +${((performance.now() - t0) / 1000).toFixed(1)} s] ${m}\n`);
  const env = (more: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    ...process.env,
    NATS_URL: tc.urls,
    VIBEWRITER_STATE_DIR: tc.stateDir,
    VIBEWRITER_IMAGES_DIR: IMAGES_DIR,
    VIBEWRITER_NATS_REPLICAS: "3",
    VIBEWRITER_SCRIPTED_MODEL: "demo",
    ...more,
  });

  const stored = async (threadId: string): Promise<VibewriterEvent[]> => {
    const out: VibewriterEvent[] = [];
    await readStream(backbone.js, Names.eventsStream, `${backbone.events.threadSubject(threadId)}.>`, (m) => out.push(m.json<VibewriterEvent>()));
    return out;
  };
  const report = async (threadId: string) => new TextDecoder().decode(await backbone.artifacts.getBytes(REPORT_ARTIFACT(threadId))).split(threadId).join("<thread>");

  beforeAll(async () => {
    await requireGuestImage();
    tc = await startTestCluster({ extraUsers: [observerUser()] });
    backbone = await openBackbone({ natsUrl: tc.urls, env: { VIBEWRITER_NATS_REPLICAS: "3" }, stateDir: tc.stateDir, name: "fleet-test", role: NatsRole.Runtime, provision: provisionLayout });
    await RunQueue.open(backbone, { replicas: 3 }); // before the submits race to create it
    const nc = await connectNats({ url: tc.urls, name: "fleet-observer", nkeySeed: OBSERVER_SEED });
    observerNode = nc.info!.server_name;
    observer = new EventObserver(nc);
    observerNc = nc;
  });
  afterEach((ctx) => {
    if (ctx.task.result?.state === "fail") for (const w of workers) note(`worker ${w.child.pid}:\n${w.stdout().slice(-3000)}\n${w.stderr().slice(-3000)}`);
  });
  afterAll(async () => {
    for (const w of workers) leftovers.push(w.child.pid!, ...descendants(w.child.pid!));
    killAll(leftovers);
    observer?.close();
    await observerNc?.close();
    await backbone?.close();
    await tc?.close();
  });

  it("two workers run six submitted threads; one worker and one NATS node SIGKILLed mid-run; every report as an uninterrupted run's, no side effect twice", async () => {
    const submits = THREADS.map((t) => spawnCli(["submit", DEMO_TASK, "--sources", SAMPLES_DIR, "--thread", t, "--json"], env()));
    for (const s of submits) expect((await s.exited).code, s.stderr()).toBe(0);
    expect(submits.map((s) => (JSON.parse(s.stdout()) as { status: string }).status)).toEqual(THREADS.map(() => "queued"));

    // The victim prints a line as each run starts (no --json): the thread it is killed in. It
    // starts alone, so that its first run is still in flight when it is stopped: a warm worker
    // runs the demo in a few seconds, quicker than a second worker gets going.
    note("submitted");
    const victim = spawnCli(["worker", "-c", "1"], env());
    workers.push(victim);
    const early = victim.exited.then((x) => {
      throw new Error(`the victim worker ended (${x.code ?? x.signal}) before the kill point:\n${victim.stdout()}\n${victim.stderr()}`);
    });
    await Promise.race([victim.waitForOutput(/start (fleet-\d): run/), early]);
    const killedThread = /start (fleet-\d): run/.exec(victim.stdout())![1]!;
    // Stopped while the main agent's skill script runs in the VM (earlier side effects are done):
    // from the cluster's side a stopped worker is a dead one. SIGKILLed once the heir is up.
    await Promise.race([
      observer.waitFor((e) => e.threadId === killedThread && e.type === "tool.started" && e.agent === "main" && e.data.tool === "execute"),
      early,
    ]);
    victim.child.kill("SIGSTOP");
    const finished = (t: string) => observer.of(t).some((e) => e.type === "run.finished");
    expect(finished(killedThread), `${killedThread} ended before the victim was stopped`).toBe(false);
    // Both workers are up before anything is killed: the heir holds a thread's lease (polled).
    const heir = spawnCli(["worker", "-c", "2", "--json"], env());
    workers.push(heir);
    const leases = await ThreadLeases.open(backbone, { replicas: 3 });
    const heirRuns = async () => (await Promise.all(THREADS.map((t) => leases.holderOf(t)))).some((h) => h?.pid === heir.child.pid);
    while (!(await heirRuns())) {
      if (heir.child.exitCode !== null) throw new Error(`the heir worker exited:\n${heir.stdout()}\n${heir.stderr()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    leftovers.push(...descendants(victim.child.pid!));
    note(`SIGKILL the worker running ${killedThread}`);
    victim.child.kill("SIGKILL");
    expect((await victim.exited).signal).toBe("SIGKILL");
    const victimThreads = [...victim.stdout().matchAll(/start (fleet-\d): run/g)].map((m) => m[1]!);
    const unfinished = victimThreads.filter((t) => !finished(t));
    expect(unfinished).toContain(killedThread); // really mid-run

    // One NATS node down mid-run (not the observer's: it counts every publish). What the cluster
    // acknowledged before must all be there at the end.
    // The run queue's leader when it can be (the hardest node to lose: pulls, acks and heartbeats
    // wait for a new leader), else another.
    const runsLeader = (await backbone.jsm.streams.info(Names.runsStream)).cluster?.leader;
    const others = tc.cluster.nodes.map((n) => n.name).filter((n) => n !== observerNode);
    const nodeToKill = others.find((n) => n === runsLeader) ?? others[0]!;
    const acknowledged = new Map<string, string[]>();
    for (const t of THREADS) acknowledged.set(t, (await stored(t)).map((e) => e.id));
    await tc.kill(nodeToKill);
    note(`SIGKILLed NATS node ${nodeToKill}${nodeToKill === runsLeader ? " (the run queue's leader)" : ""}`);

    // The heir ends every thread the victim did not finish.
    const doneByVictim = victimThreads.filter((t) => !unfinished.includes(t));
    const lines = await ended(heir, THREADS.filter((t) => !doneByVictim.includes(t)));
    leftovers.push(...descendants(heir.child.pid!));
    note("every thread ended");
    for (const l of lines) expect(l, JSON.stringify(l)).toMatchObject({ outcome: "finished", status: "completed" });
    // The dead worker's threads: taken over (its lease), redelivered (the queue).
    for (const t of unfinished) {
      expect(linesOf(heir).some((x) => x.threadId === t && x.takenOver), t).toBe(true);
      expect(lines.find((x) => x.threadId === t)!.deliveryCount, t).toBeGreaterThan(1);
    }
    heir.child.kill("SIGTERM");
    expect((await heir.exited).code, heir.stderr()).toBe(0);

    // Every report is the uninterrupted runs' report, once; as many citations; every journaled
    // call (execute, write_file, task, publish_report…) ran once across both workers.
    const reference = await report(THREADS.find((t) => !unfinished.includes(t))!);
    const citations = new Set<number>();
    for (const t of THREADS) {
      expect(await report(t), t).toBe(reference);
      const events = await stored(t);
      expect(events.filter((e) => e.type === "report.published"), t).toHaveLength(1);
      citations.add(events.filter((e) => e.type === "citation").length);
      const ids = events.map((e) => e.id);
      expect(ids.filter((id, i) => ids.indexOf(id) !== i), t).toEqual([]);
      expect([...executions(observer.of(t))].filter(([, n]) => n > 1), t).toEqual([]);
      // Nothing the cluster acknowledged before the node died is missing.
      expect(acknowledged.get(t)!.filter((id) => !ids.includes(id)), t).toEqual([]);
    }
    expect([...citations]).toHaveLength(1);
    expect([...citations][0]).toBeGreaterThan(0);
    expect(await (await RunQueue.open(backbone)).depth()).toBe(0);
    // No live holder left: released, or (a release that failed while the node was down) expired.
    for (const t of THREADS) expect((await leases.holderOf(t))?.expired ?? true, t).toBe(true);
  }, 300_000);

  it("a second `vibewriter resume` of a thread one is running is refused naming the first; the first completes", async () => {
    const thread = THREADS[0]!;
    const before = (await stored(thread)).length;
    const leases = await ThreadLeases.open(backbone, { replicas: 3 });
    // A long TTL: the first is held still below (SIGSTOP) and must keep its lease meanwhile.
    const winner = spawnCli(["resume", thread, "--json"], env({ VIBEWRITER_LEASE_TTL_SEC: "300" }));
    let holder: Awaited<ReturnType<ThreadLeases["holderOf"]>>;
    // Polled until it holds the lease (a condition, not a delay), then frozen holding it. (Of
    // processes racing for one lease exactly one wins: test/nats/thread-lease.test.ts.)
    while ((holder = await leases.holderOf(thread))?.pid !== winner.child.pid) {
      if (winner.child.exitCode !== null) throw new Error(`the resume ended (${winner.child.exitCode}) before taking the lease:\n${winner.stdout()}\n${winner.stderr()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    process.kill(winner.child.pid!, "SIGSTOP");
    const loser = spawnCli(["resume", thread, "--json"], env({ VIBEWRITER_LEASE_TTL_SEC: "300" }));
    const lost = await loser.exited;
    process.kill(winner.child.pid!, "SIGCONT");
    const won = await winner.exited;
    leftovers.push(...descendants(winner.child.pid!));

    expect(lost.code).not.toBe(0);
    expect(loser.stdout() + loser.stderr()).toMatch(new RegExp(`already running: a run on host \\S+ \\(pid ${holder!.pid}, id run-`));
    expect(won.code, winner.stderr()).toBe(0);
    expect(JSON.parse(winner.stdout())).toMatchObject({ ok: true, status: "completed", threadId: thread });
    expect(await report(thread)).toBe(await report(THREADS[1]!));
    const events = await stored(thread);
    expect(events.filter((e) => e.type === "report.published")).toHaveLength(1);
    expect(events.length).toBe(before); // the thread had finished: nothing ran again
    expect(await leases.holderOf(thread)).toBeUndefined();
  }, 120_000);
});
