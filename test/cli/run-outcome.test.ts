/**
 * How `vibewriter run` and `resume` end, as a user sees it (exit code, `--json`, `threads`): a run
 * whose VM is killed mid-run goes on in a replacement and ends with its report; a run that ends
 * without the report it was asked for fails, says why, and `resume` asks the agent to carry on.
 */
import { fileURLToPath } from "node:url";
import { DEMO_TASK } from "../../src/agent/demo-model.ts";
import { EventType, eventOf } from "../../src/nats/event-types.ts";
import { startProviderStandIn, type ProviderStandIn } from "../support/provider-standin.ts";
import { descendants, liveQemus, spawnCli } from "./child.ts";
import { useCliChildWorld } from "./child-world.ts";

const SOURCES = fileURLToPath(new URL("../../samples/northwind", import.meta.url));

describe("how a run ends", () => {
  const world = useCliChildWorld();
  let provider: ProviderStandIn;
  beforeAll(async () => {
    provider = await startProviderStandIn();
  });
  afterAll(async () => {
    await provider?.close();
  });

  it("QEMU killed mid-run: the run goes on in a new VM with /skills and /workspace back, and ends completed with its report", async () => {
    const thread = "outcome-vm-killed";
    const run = spawnCli(["run", DEMO_TASK, "--sources", SOURCES, "--thread", thread, "--json"], world.env());
    // The researcher's skill command (python3 /skills/financial-due-diligence/…) has started.
    const skillCommand = world.observer.waitFor((e) => e.threadId === thread && e.type === EventType.ToolStarted && e.agent === "researcher" && e.data.tool === "execute");
    const early = run.exited.then((x) => {
      throw new Error(`the run ended (${x.code ?? x.signal}) before its skill command:\n${run.stdout()}\n${run.stderr()}`);
    });
    await Promise.race([skillCommand, early]);
    const first = liveQemus(descendants(run.child.pid!)); // QEMU (and its guardian shell, if any)
    world.leftovers.push(...first);
    expect(first.length).toBeGreaterThan(0);
    for (const pid of first) process.kill(pid, "SIGKILL");

    const { code } = await run.exited;
    world.leftovers.push(...descendants(run.child.pid!));
    expect(code, run.stderr()).toBe(0);
    const result = JSON.parse(run.stdout()) as { ok: boolean; status: string; report?: string };
    expect(result).toMatchObject({ ok: true, status: "completed" });
    expect(result.report).toContain("# Due diligence: Northwind Solar Holdings, Inc.");
    // Every skill command ran to its end (the one the VM died under, again, on the new VM).
    const events = await world.nats.backbone.events.history(thread);
    const finished = events.filter(eventOf(EventType.ToolFinished)).filter((e) => e.data.tool === "execute");
    expect(finished.map((e) => e.data.status)).toEqual(["ok", "ok"]);
    const warnings = events.filter((e) => e.type === EventType.Warning).map((e) => String(e.data.message));
    expect(warnings.some((w) => /runs on a new VM .* with the thread's \/workspace, skills and sources restored/.test(w))).toBe(true);
  });

  it("a run that never publishes exits 1 with status failed and why; resume asks the agent to carry on, and fails again without a report", async () => {
    const thread = "outcome-no-report";
    const asked: string[] = [];
    provider.script((ctx) => {
      asked.push(JSON.stringify(ctx.request.body));
      return "I looked around and I am done.";
    });
    const env: NodeJS.ProcessEnv = { ...world.env(), VIBEWRITER_MODEL: "openai-compatible:stand-in-model", VIBEWRITER_BASE_URL: provider.openaiBaseUrl };
    delete env.VIBEWRITER_SCRIPTED_MODEL;

    const run = spawnCli(["run", "Write a report on the sources", "--sources", SOURCES, "--thread", thread, "--json"], env);
    const { code } = await run.exited;
    world.leftovers.push(...descendants(run.child.pid!));
    expect(code, run.stderr()).toBe(1);
    expect(JSON.parse(run.stdout())).toMatchObject({ ok: false, status: "failed", reason: "the agent stopped without publishing a report" });

    const threads = spawnCli(["threads", "--json"], env);
    expect((await threads.exited).code).toBe(0);
    const listed = (JSON.parse(threads.stdout()) as { threads: { threadId: string; status: string; reason?: string }[] }).threads.find((t) => t.threadId === thread);
    expect(listed).toMatchObject({ status: "failed", reason: "the agent stopped without publishing a report" });

    const resumed = spawnCli(["resume", thread, "--json"], env);
    expect((await resumed.exited).code, resumed.stderr()).toBe(1);
    expect(JSON.parse(resumed.stdout())).toMatchObject({ ok: false, status: "failed" });
    expect(asked.at(-1)).toContain("Continue the task: the agent stopped without publishing a report. Finish what is missing.");
  });
});
