import { ThreadSources } from "../../src/agent/thread-sources.ts";
import { checkCitations } from "../../src/agent/citations.ts";
import { DEMO_TASK, SCRIPTED_LABEL, scriptedDemoModel } from "../../src/agent/demo-model.ts";
import { EventType, eventOf, type VibewriterEvent } from "../../src/nats/event-types.ts";
import { SAMPLES_DIR } from "../../src/agent/samples.ts";
import { listThreads, showThread } from "../../src/agent/threads.ts";
import { REPORT_ARTIFACT } from "../../src/agent/tools/publish.ts";
import { VmPool } from "../../src/app/vm-pool.ts";
import { createVibewriter } from "../../src/agent/vibewriter.ts";
import { sandboxText, startAgentWorld, type AgentWorld } from "./support/harness.ts";

let world: AgentWorld;
const vms = new VmPool();
beforeAll(async () => {
  world = await startAgentWorld();
});
afterAll(async () => {
  await vms.close();
  await world?.close();
});

/** Index of the first event matching, failing loudly when absent. */
function at(events: VibewriterEvent[], pred: (e: VibewriterEvent) => boolean, what: string): number {
  const i = events.findIndex(pred);
  if (i < 0) throw new Error(`no event: ${what}`);
  return i;
}

it("the scripted demo: plan → researcher runs a skill in the sandbox → draft → verifier → publisher → verified report in the Object Store", async () => {
  const threadId = "demo-e2e";
  const live: VibewriterEvent[] = [];
  // As the CLI does it: the backbone from src/nats and no sandbox given, so the thread gets a
  // MicroVMBackend on a VM from the process's pool, its /workspace persisted in the Object Store.
  const vw = await createVibewriter({
    backbone: world.nats.backbone,
    sandboxes: vms.sandboxes(world.nats.backbone.blobs),
    threadId,
    model: scriptedDemoModel(),
    sourcesDir: SAMPLES_DIR,
    onEvent: (e) => live.push(e),
  });
  expect(vw.sources.map((s) => s.origin).sort()).toEqual(["annual-report-2025.md", "auditor-letter.txt", "lender-notice.pdf", "press-release.html"]);
  const result = await vw.run(DEMO_TASK);
  await vw.close();
  // One thread, one VM: no spare was restored beside it.
  expect(vms.stats()).toMatchObject({ restored: 1, idle: 0, starting: 0 });

  // The result and the stored report.
  expect(result.status).toBe("completed");
  expect(result.finalMessage).toContain(SCRIPTED_LABEL);
  expect(result.todos.map((t) => t.status)).toEqual(["completed", "completed", "completed", "completed"]);
  const stored = await world.backbone.blobs.get(REPORT_ARTIFACT(threadId));
  expect(stored).not.toBeNull();
  const report = new TextDecoder().decode(stored!);
  expect(result.report).toBe(report);
  expect(report).toContain("# Due diligence: Northwind Solar Holdings, Inc.");
  expect(report).toMatch(/Going-concern doubt/);
  // Independently re-verified against the stored sources.
  const check = checkCitations(report, (await ThreadSources.load(world.backbone.blobs, threadId)).texts);
  expect(check.problems).toEqual([]);
  expect(check.citations.length).toBeGreaterThan(10);
  expect(check.verifiedSources).toHaveLength(4); // every sample source, the PDF included, is cited

  // The event log (read back from JetStream) equals what was seen live, in the same order.
  const events = await world.backbone.events.history(threadId);
  expect(events.map((e) => e.id)).toEqual(live.map((e) => e.id));
  expect(new Set(events.map((e) => e.id)).size).toBe(events.length);

  // The pipeline, in order.
  const plan = at(events, (e) => e.type === EventType.TodosUpdated, "plan");
  const research = at(events, (e) => e.type === EventType.SubagentStarted && e.data.subagent === "researcher", "researcher hand-off");
  const skillRun = at(
    events,
    (e) => e.agent === "researcher" && e.type === EventType.ToolFinished && e.data.tool === "execute" && e.data.status === "ok",
    "skill script run by the researcher",
  );
  const researchDone = at(events, (e) => e.type === EventType.SubagentFinished && e.data.subagent === "researcher", "researcher hand-back");
  const draft = at(events, (e) => e.agent === "main" && e.type === EventType.ToolFinished && e.data.tool === "execute" && e.data.status === "ok", "draft assembled");
  const verify = at(events, (e) => e.type === EventType.CitationsChecked && e.agent === "verifier" && e.data.ok === true, "verifier check");
  const publish = at(events, (e) => e.type === EventType.ReportPublished, "report published");
  const finished = at(events, (e) => e.type === EventType.RunFinished, "run finished");
  expect([plan, research, skillRun, researchDone, draft, verify, publish, finished]).toEqual(
    [plan, research, skillRun, researchDone, draft, verify, publish, finished].sort((a, b) => a - b),
  );
  expect(String((events[skillRun]!.data as { output?: unknown }).output)).toMatch(/"entity": "Northwind Solar Holdings, Inc."/);
  expect(events[publish]!.agent).toBe("publisher");
  expect((events[publish]!.data as { artifact?: unknown }).artifact).toBe(REPORT_ARTIFACT(threadId));
  expect(events.filter((e) => e.type === EventType.FileWritten).map((e) => e.data.path)).toContain("/workspace/report.md");
  expect(events.filter((e) => e.type === EventType.SourceStored)).toHaveLength(4);
  // Each verified citation of the published report is its own event, naming a stored source.
  const cites = events.filter(eventOf(EventType.Citation));
  const published = events.filter(eventOf(EventType.ReportPublished))[0]!;
  expect(cites.length).toBeGreaterThan(0);
  expect(cites).toHaveLength(published.data.citations);
  const storedSources = new Set(events.filter(eventOf(EventType.SourceStored)).map((e) => e.data.id));
  expect(cites.every((c) => storedSources.has(c.data.sourceId) && c.agent === "publisher")).toBe(true);
  const skills = events.filter((e) => e.type === EventType.SkillLoaded);
  expect(skills.map((e) => e.data.name).sort()).toEqual(["citation-ready-report", "financial-due-diligence"]);
  // Installed by the host into the VM's read-only /skills/ (no fallback, no warnings).
  expect(skills.map((e) => e.data.path)).toEqual(["/skills/citation-ready-report/SKILL.md", "/skills/financial-due-diligence/SKILL.md"]);
  expect(events.filter((e) => e.type === EventType.Warning || e.type === EventType.SkillSkipped)).toEqual([]);

  // threads / show see the same thread.
  const threads = await listThreads(world.backbone);
  expect(threads.find((t) => t.threadId === threadId)).toMatchObject({ status: "completed", hasReport: true, task: DEMO_TASK });
  const shown = await showThread(world.backbone, threadId);
  expect(shown.status).toBe("completed");
  expect(shown.report).toBe(report);
  expect(shown.todos).toEqual(result.todos);
  expect(shown.files).toContain("/workspace/report.md");

  // The workspace outlived the VM: a new VM for the thread has the report file back.
  const sandbox2 = await world.sandbox(threadId);
  expect(await sandboxText(sandbox2, "/workspace/report.md")).toBe(report);

  // Resuming a finished thread does nothing and changes nothing.
  const vw2 = await createVibewriter({ backbone: world.backbone, threadId, model: scriptedDemoModel(), sandbox: sandbox2 });
  const again = await vw2.resume();
  expect(again.report).toBe(report);
  // Setting up again re-publishes skill.loaded with the same ids: JetStream drops the duplicates.
  expect((await world.backbone.events.history(threadId)).length).toBe(events.length);
});
