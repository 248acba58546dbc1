/**
 * One runner per thread, across processes: a second `vibewriter` on a thread that a live process
 * runs is refused at once and told who runs it; SIGTERM while a run is being prepared (its VM not
 * answering) ends it promptly as interrupted, with the lease released. Real processes, real VMs.
 */
import { DEMO_TASK } from "../../src/agent/demo-model.ts";
import { SAMPLES_DIR } from "../../src/agent/samples.ts";
import { ThreadLeases } from "../../src/nats/thread-lease.ts";
import { descendants, spawnCli } from "./child.ts";
import { freezeVms, qemuProcesses } from "./freeze-vms.ts";
import { useCliChildWorld } from "./child-world.ts";

describe("the thread's lease in the CLI", () => {
  const world = useCliChildWorld();

  it("a second process on a running thread is refused, naming the first", async () => {
    const thread = "lease-two-runners";
    // The first run's VM is frozen once it started (never replaced): it stays mid-run, holding the lease.
    const first = spawnCli(["run", DEMO_TASK, "--sources", SAMPLES_DIR, "--thread", thread], { ...world.env(), VIBEWRITER_AGENT_TIMEOUT_SEC: "3600" });
    const early = first.exited.then((x) => {
      throw new Error(`the first run ended (${x.code ?? x.signal}) before it started:\n${first.stdout()}\n${first.stderr()}`);
    });
    await Promise.race([world.observer.waitFor((e) => e.threadId === thread && e.type === "run.started"), early]);
    world.leftovers.push(...freezeVms(first.child.pid!));

    for (const args of [["resume", thread], ["run", DEMO_TASK, "--thread", thread]]) {
      const second = spawnCli(args, world.env());
      const exit = await second.exited;
      expect(exit.code, second.stdout()).toBe(1);
      expect(second.stderr()).toContain(`Thread ${thread} is already running: a run on host`);
      expect(second.stderr()).toContain(`(pid ${first.child.pid}, id run-`);
      expect(second.stderr()).toMatch(/renewed \d+ s ago/);
    }
    // The refused processes wrote nothing to the thread: one start, the first's.
    await world.nats.nc.flush();
    expect(world.observer.of(thread).filter((e) => e.type === "run.started")).toHaveLength(1);

    // The first is still the holder, and frees the thread when it stops.
    const leases = await ThreadLeases.open(world.nats.backbone);
    expect(await leases.holderOf(thread)).toMatchObject({ pid: first.child.pid, kind: "run" });
    first.child.kill("SIGTERM");
    expect((await first.exited).code).toBe(130);
    expect(await leases.holderOf(thread)).toBeUndefined();
  });

  it("SIGTERM while the run is being prepared ends it as interrupted, lease released", async () => {
    const thread = "lease-sigterm-prepare";
    // A guest agent that stops answering is only replaced after an hour: preparation hangs on it.
    const run = spawnCli(["run", DEMO_TASK, "--sources", SAMPLES_DIR, "--thread", thread], { ...world.env(), VIBEWRITER_AGENT_TIMEOUT_SEC: "3600" });
    // The run's VM (restored as the command starts) is frozen as soon as it exists…
    let frozen: number[] = [];
    while (frozen.length === 0 && run.child.exitCode === null) {
      frozen = qemuProcesses(descendants(run.child.pid!));
      if (frozen.length === 0) await new Promise((r) => setTimeout(r, 5));
    }
    for (const p of frozen) process.kill(p, "SIGSTOP");
    world.leftovers.push(...frozen);
    // …and the run goes on into its preparation, which cannot finish.
    await run.waitForOutput("wallet:");
    run.child.kill("SIGTERM");
    const exit = await run.exited;
    expect(exit.code, run.stderr()).toBe(130);
    expect(run.stderr()).toContain(`Interrupted. Thread ${thread} is saved in NATS.`);
    expect(run.stderr()).toContain(`vibewriter resume ${thread}`);
    expect(world.observer.of(thread).some((e) => e.type === "run.started")).toBe(false);
    const leases = await ThreadLeases.open(world.nats.backbone);
    expect(await leases.holderOf(thread)).toBeUndefined();
  });
});
