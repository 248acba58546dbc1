/**
 * Ctrl-C during `vibewriter run`: the command stops, says which thread to resume, exits 130 and
 * leaves no VM behind; `vibewriter resume` then finishes the thread.
 */
import { fileURLToPath } from "node:url";
import { DEMO_TASK } from "../../src/agent/demo-model.ts";
import { descendants, liveQemus, spawnCli } from "./child.ts";
import { useCliChildWorld } from "./child-world.ts";

const SOURCES = fileURLToPath(new URL("../../samples/northwind", import.meta.url));

describe("Ctrl-C during vibewriter run", () => {
  const world = useCliChildWorld();

  it("stops cleanly (exit 130, VMs stopped, how to resume), and resume completes the thread", async () => {
    const thread = "ctrl-c-run";
    const run = spawnCli(["run", DEMO_TASK, "--sources", SOURCES, "--thread", thread], world.env());
    const researching = world.observer.waitFor((e) => e.threadId === thread && e.type === "subagent.started");
    const early = run.exited.then((x) => {
      throw new Error(`the run ended (${x.code ?? x.signal}) before Ctrl-C:\n${run.stdout()}\n${run.stderr()}`);
    });
    await Promise.race([researching, early]);
    const vms = liveQemus(descendants(run.child.pid!));
    world.leftovers.push(...vms);
    expect(vms.length).toBeGreaterThan(0); // the run's VM(s) are up

    run.child.kill("SIGINT");
    const { code } = await run.exited;
    expect(code).toBe(130);
    expect(run.stderr()).toMatch(/Ctrl-C: stopping/);
    expect(run.stderr()).toMatch(/Interrupted\. Thread ctrl-c-run is saved in NATS\.\n\s+Continue it with: vibewriter resume ctrl-c-run/);
    // Cleanup ran before exit: nothing the run started is still alive.
    expect(liveQemus(vms)).toEqual([]);

    const resumed = spawnCli(["resume", thread, "--json"], world.env());
    const r = await resumed.exited;
    world.leftovers.push(...descendants(resumed.child.pid!));
    expect(r.code, resumed.stderr()).toBe(0);
    const result = JSON.parse(resumed.stdout()) as { status: string; report?: string };
    expect(result.status).toBe("completed");
    expect(result.report).toMatch(/^# Due diligence: Northwind Solar Holdings/);
  }, 600_000);
});
