/**
 * THE crash test: `vibewriter run` (a real child process, scripted model, real microVM, real
 * nats-server) is SIGKILLed in the middle of a tool-heavy step — right after the researcher
 * subagent's skill script ran in the VM — then `vibewriter resume` finishes the thread. The final
 * report must equal an uninterrupted run's, and no step with a side effect may have run twice.
 */
import { fileURLToPath } from "node:url";
import { JOURNALED_TOOLS } from "../../src/agent/middleware/effect-journal.ts";
import { DEMO_TASK } from "../../src/agent/demo-model.ts";
import type { VibewriterEvent } from "../../src/nats/event-types.ts";
import { readStream } from "../../src/nats/read-stream.ts";
import { Names } from "../../src/nats/streams.ts";
import { descendants, spawnCli } from "./child.ts";
import { useCliChildWorld } from "./child-world.ts";

const SOURCES = fileURLToPath(new URL("../../samples/northwind", import.meta.url));

interface RunJson {
  ok: boolean;
  status: string;
  threadId: string;
  report?: string;
  scripted: boolean;
}

/** The report with the thread id neutralised (it names its own thread in the artifact path, if anywhere). */
const normalise = (report: string, threadId: string) => report.split(threadId).join("<thread>");

/** (agent, tool-call id) of every journaled tool call that really executed (not answered from the journal). */
function executions(events: VibewriterEvent[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of events) {
    if (e.type !== "tool.finished") continue;
    if (!(JOURNALED_TOOLS as readonly string[]).includes(String(e.data.tool))) continue;
    if (e.data.replayed === true) continue;
    const key = `${e.agent}:${String(e.data.callId)}:${String(e.data.tool)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

describe("vibewriter run, SIGKILL, vibewriter resume", () => {
  const world = useCliChildWorld();

  it("the observer sees duplicate publishes that the stream drops (so it can count re-runs)", async () => {
    const event = { id: "dup-1", type: "warning", data: { message: "twice" } } as const;
    const first = await world.nats.backbone.events.publish("observer-check", event);
    const second = await world.nats.backbone.events.publish("observer-check", event);
    expect(second.seq).toBe(first.seq); // the stream kept the first copy only
    expect(await world.nats.backbone.events.history("observer-check")).toHaveLength(1);
    await world.nats.nc.flush();
    expect(world.observer.of("observer-check")).toHaveLength(2);
  });

  it("resumes after SIGKILL to the same report, running no side effect twice", async () => {
    // 1. The reference: the same task, uninterrupted.
    const ref = spawnCli(["run", DEMO_TASK, "--sources", SOURCES, "--thread", "ref-run", "--json"], world.env());
    const refExit = await ref.exited;
    expect(refExit.code, ref.stderr()).toBe(0);
    const refResult = JSON.parse(ref.stdout()) as RunJson;
    expect(refResult).toMatchObject({ ok: true, status: "completed", scripted: true });
    expect(refResult.report).toBeTruthy();

    // 2. The same task, killed while the main agent's skill script (assemble_report.py) runs in the
    //    VM: the researcher's script and its whole hand-off have completed (side effects done and
    //    recorded), and a tool call is in flight.
    const thread = "crash-run";
    const victim = spawnCli(["run", DEMO_TASK, "--sources", SOURCES, "--thread", thread], world.env());
    const inFlight = world.observer.waitFor(
      (e) => e.threadId === thread && e.type === "tool.started" && e.agent === "main" && e.data.tool === "execute",
    );
    const early = victim.exited.then((x) => {
      throw new Error(`the run ended (${x.code ?? x.signal}) before the kill point:\n${victim.stdout()}\n${victim.stderr()}`);
    });
    const killedCall = await Promise.race([inFlight, early]);
    const tree = descendants(victim.child.pid!); // its QEMUs: the sandbox pool's parent-death signal should end them
    world.leftovers.push(...tree);
    victim.child.kill("SIGKILL");
    expect((await victim.exited).signal).toBe("SIGKILL");
    await world.nats.nc.flush(); // every event the victim got out has reached the observer
    const beforeResume = world.observer.of(thread).length;
    const beforeKill = world.observer.of(thread);
    expect(beforeKill.some((e) => e.type === "run.finished")).toBe(false); // really mid-run
    // Side effects had completed before the kill: the researcher's script and the hand-off.
    const doneBefore = executions(beforeKill);
    expect([...doneBefore.keys()].some((k) => k.startsWith("researcher:") && k.endsWith(":execute"))).toBe(true);
    expect([...doneBefore.keys()].some((k) => k.startsWith("main:") && k.endsWith(":task"))).toBe(true);

    // 3. Resume in a new process — "13 minutes later": the server has forgotten every msg-id by
    //    then (JetStream's dedup window is 2 minutes), so only the log's own check of stored ids
    //    can keep the replayed events, citations and report out of the log a second time.
    await world.nats.backbone.jsm.streams.update(Names.eventsStream, { duplicate_window: 100_000_000 }); // 100 ms
    const probe = () => world.nats.backbone.js.publish(`${Names.eventsSubjectPrefix}.probe`, "{}", { msgID: "window-probe" });
    await probe();
    while ((await probe()).duplicate) await world.nats.nc.flush(); // msg-ids expire oldest first
    const resumed = spawnCli(["resume", thread, "--json"], world.env());
    const resumedExit = await resumed.exited;
    world.leftovers.push(...descendants(resumed.child.pid!));
    expect(resumedExit.code, resumed.stderr()).toBe(0);
    const result = JSON.parse(resumed.stdout()) as RunJson;
    expect(result).toMatchObject({ ok: true, status: "completed", threadId: thread });

    // The run completed with the report an uninterrupted run produces.
    expect(normalise(result.report!, thread)).toBe(normalise(refResult.report!, "ref-run"));

    // The log holds each event once: one report.published, as many citations as the reference run.
    const stored: VibewriterEvent[] = [];
    for (const t of [thread, "ref-run"]) {
      await readStream(world.nats.backbone.js, Names.eventsStream, `${world.nats.backbone.events.threadSubject(t)}.>`, (m) => stored.push(m.json<VibewriterEvent>()));
    }
    const ids = stored.filter((e) => e.threadId === thread).map((e) => e.id);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    const count = (t: string, type: string) => stored.filter((e) => e.threadId === t && e.type === type).length;
    expect(count(thread, "report.published")).toBe(1);
    expect(count(thread, "citation")).toBe(count("ref-run", "citation"));
    expect(count(thread, "citation")).toBeGreaterThan(0);
    // …and the replay did try: the in-flight call's start, stored before the kill, came again and was dropped.
    expect(world.observer.dropped.some((e) => e.threadId === thread && e.id === killedCall.id)).toBe(true);

    // Nothing with a side effect ran twice: every journaled call (execute, write_file, task,
    // publish_report…) completed at most once across both processes.
    const all = world.observer.of(thread);
    expect(all.length).toBeGreaterThan(beforeResume);
    const counts = executions(all);
    const twice = [...counts].filter(([, n]) => n > 1);
    expect(twice).toEqual([]);
    // The call in flight at the kill completed exactly once, in the resumed process.
    const killedKey = `main:${String((killedCall.data as { callId?: unknown }).callId)}:execute`;
    expect(doneBefore.has(killedKey)).toBe(false);
    expect(counts.get(killedKey)).toBe(1);
    // The steps done before the kill did not run again in the resumed process.
    const rerun = executions(all.slice(beforeResume));
    expect([...doneBefore.keys()].filter((k) => rerun.has(k))).toEqual([]);
    // The same journaled calls ran as in the uninterrupted run (none skipped, none extra).
    const refCounts = executions(world.observer.of("ref-run"));
    expect([...counts.keys()].map((k) => k.split(":").slice(0, 1).concat(k.split(":").slice(2)).join(":")).sort()).toEqual(
      [...refCounts.keys()].map((k) => k.split(":").slice(0, 1).concat(k.split(":").slice(2)).join(":")).sort(),
    );
  }, 900_000);
});
