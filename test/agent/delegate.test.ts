/**
 * The delegate tool with the worker's own code (`runQueuedRequest`: lease, run or resume, ack,
 * wake the parent) on a real nats-server and real microVMs; only the model is scripted. A parent
 * delegates two sub-questions at once, pauses holding no worker, and cites both children's
 * verified reports; a child that fails reaches the parent as a tool error.
 */
import { ThreadSources } from "../../src/agent/thread-sources.ts";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import type { AgentBackbone } from "../../src/agent/ports.ts";
import { VmPool } from "../../src/app/vm-pool.ts";
import { checkCitations } from "../../src/agent/citations.ts";
import { childThreadId } from "../../src/agent/child-runs.ts";
import { queueThread } from "../../src/agent/queue-thread.ts";
import { createScriptedModel, type AgentScript } from "../../src/agent/scripted-model.ts";
import { loadSkills } from "../../src/agent/skills.ts";
import { THREAD_SKILL_PATHS } from "../../src/agent/thread-skills.ts";
import { loadSourcesDir, readSourceManifest, sourceFromBytes, sourceIdFor, storeSources } from "../../src/agent/sources.ts";
import { listThreads, showThread } from "../../src/agent/threads.ts";
import { REPORT_ARTIFACT } from "../../src/agent/tools/publish.ts";
import { runQueuedRequest, type WorkerDeps, type WorkerRunReport } from "../../src/cli/worker-run.ts";
import { EventType } from "../../src/nats/event-types.ts";
import { RunQueue, type QueuedRun } from "../../src/nats/run-queue.ts";
import { ThreadLeases, thisProcess } from "../../src/nats/thread-lease.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";

const AUDIT = "# Audit\n\nThe auditor found a material weakness in revenue recognition.\n\nRevenue grew 12% in 2025, mostly from two customers.\n";
const AUDIT_ID = sourceIdFor(new TextEncoder().encode(AUDIT));
/** A page child B (given no sources) finds on its own, as its fetch_url would store it. */
const PAGE = "Two customers made up 61% of 2025 revenue.\n";
const PAGE_ID = sourceIdFor(new TextEncoder().encode(PAGE));
const REPORT = "/workspace/report.md";
/** Each child's question, the sources it gets, and the source sentence its report quotes. */
const CHILDREN = [
  { question: "What did the auditor find? Answer with a cited report.", sources: "parent", source: AUDIT_ID, quote: "The auditor found a material weakness in revenue recognition." },
  { question: "How concentrated is revenue? Answer with a cited report.", sources: "none", source: PAGE_ID, quote: "Two customers made up 61% of 2025 revenue." },
];

/**
 * One scripted model for every agent of every thread, by task: a child question gets a cited
 * report, published; "fail: …" delegates once and says what came back; any other task is a parent
 * that delegates both questions at once, then cites both children's reports (now its sources).
 */
const main: AgentScript = ({ turn, results, task }) => {
  const child = CHILDREN.find((c) => c.question === task);
  if (child) {
    const report = `# Finding\n\nThe sources say: [[src:${child.source}|"${child.quote}"]]\n`;
    return [[{ name: "write_file", args: { file_path: REPORT, content: report } }], [{ name: "task", args: { subagent_type: "publisher", description: `Publish ${REPORT}.` } }], { text: "child done" }][turn];
  }
  if (task.startsWith("fail:")) return [[{ name: "delegate", args: { question: "A question no worker will take." } }], { text: `got: ${results[0]}` }][turn];
  // The two calls ran at once: each child's result is the one whose report has its quote.
  const sourceOf = (quote: string) => /stored as source ([0-9a-f]{12})/.exec(results.find((r) => r.includes(quote)) ?? "")?.[1] ?? "missing";
  const cited = CHILDREN.map((c) => `- [[src:${sourceOf(c.quote)}|"${c.quote}"]]`);
  // Child B's own citation, copied as it wrote it: its page came along with its report.
  const copied = `- As child B found: [[src:${PAGE_ID}|"${CHILDREN[1]!.quote}"]]`;
  const report = `# Parent report\n\nTwo child runs looked into the audit:\n${cited.join("\n")}\n${copied}\n`;
  return [
    CHILDREN.map((c) => ({ name: "delegate", args: { question: c.question, sources: c.sources } })),
    [{ name: "write_file", args: { file_path: REPORT, content: report } }],
    [{ name: "task", args: { subagent_type: "publisher", description: `Publish ${REPORT}.` } }],
    { text: "parent done" },
  ][turn];
};
const publisher: AgentScript = ({ turn, results }) => [[{ name: "publish_report", args: { path: REPORT } }], { text: results[0] ?? "" }][turn];
const model = () => createScriptedModel({ main, publisher });

let nats: TestNats;
/** The agent's view of the backbone (its artifact port). */
let ab: AgentBackbone;
const vms = new VmPool();
let queue: RunQueue;
let worker: WorkerDeps;
let sourcesDir: string;
let skillsDir: string;
let skillsRoot: string;
beforeAll(async () => {
  nats = await startTestNats();
  ab = nats.backbone;
  queue = await RunQueue.open(nats.backbone);
  sourcesDir = await mkdtemp(join(tmpdir(), "vw-delegate-"));
  await writeFile(join(sourcesDir, "audit.md"), AUDIT);
  skillsDir = await mkdtemp(join(tmpdir(), "vw-delegate-skills-"));
  await mkdir(join(skillsDir, "audit-notes"));
  await writeFile(join(skillsDir, "audit-notes", "SKILL.md"), "---\nname: audit-notes\ndescription: How to read audit notes.\n---\n\nRead the findings first.\n");
  skillsRoot = await mkdtemp(join(tmpdir(), "vw-delegate-worker-"));
  worker = {
    backbone: nats.backbone,
    sandboxes: vms.sandboxes(nats.backbone.blobs),
    queue,
    leases: await ThreadLeases.open(nats.backbone),
    holder: thisProcess("worker", "delegate-test-worker"),
    model: createScriptedModel({ main, publisher }),
    env: {},
    skillsRoot,
    stopping: new AbortController().signal,
  };
});
afterAll(async () => {
  await vms.close();
  await nats?.close();
  for (const d of [sourcesDir, skillsDir, skillsRoot]) if (d) await rm(d, { recursive: true, force: true });
});

/** A thread submitted as `vibewriter submit` does, with a budget of 31 model calls. */
async function submit(threadId: string, task: string, withSources: boolean): Promise<void> {
  const b = nats.backbone;
  const skills = withSources ? (await loadSkills([skillsDir])).skills : [];
  const sources = withSources ? await loadSourcesDir(sourcesDir) : [];
  await queueThread(
    b,
    { threadId, task, sources, skills, allowNetwork: false, maxModelCalls: 31, maxTokens: 1_000_000, by: "test" },
  );
}

/** The next request, run by the worker's own code (lease, run or resume, ack, wake a parent). */
async function workNext(expect?: { kind: "run" | "resume"; threadId: string }): Promise<WorkerRunReport> {
  return runQueuedRequest(await nextRequest(expect), worker);
}

async function nextRequest(want?: { kind: "run" | "resume"; threadId: string }): Promise<QueuedRun> {
  const q = await queue.next({ expiresMs: 10_000 });
  if (!q) throw new Error("no request on the run queue");
  if (want) expect(q.request).toMatchObject(want);
  return q;
}

const reportOf = async (threadId: string) => new TextDecoder().decode((await ab.blobs.get(REPORT_ARTIFACT(threadId)))!);

it("a parent delegates two sub-questions to child runs, pauses, and cites both children's verified reports", async () => {
  const parent = "deleg-parent";
  await submit(parent, "Write a cited note on the audit.", true);
  expect(await workNext({ kind: "run", threadId: parent })).toMatchObject({ outcome: "finished", status: "interrupted" });
  // The two calls ran at once, so their waits (and requests) come in either order.
  const shown = await showThread(nats.backbone, parent);
  const waits = (shown.waitingFor ?? []).flatMap((w) => (w.kind === "child_run" ? [w] : []));
  const [childA, childB] = CHILDREN.map((c) => waits.find((w) => w.question === c.question)?.child) as [string, string];
  expect(waits).toHaveLength(2);
  expect(childA).toMatch(/^deleg-parent-d-[0-9a-f]{12}$/);
  expect([`waiting for child run ${childA}; child run ${childB}`, `waiting for child run ${childB}; child run ${childA}`]).toContain(shown.reason);
  expect(await queue.depth()).toBe(2); // the paused parent holds no worker: only its children wait
  // Each child is listed at once, queued, with its question as its task.
  expect(await showThread(nats.backbone, childA)).toMatchObject({ status: "queued", task: CHILDREN[0]!.question, parent });

  const taken = [await nextRequest(), await nextRequest()];
  const a = taken.find((q) => q.request.threadId === childA)!;
  const b = taken.find((q) => q.request.threadId === childB)!;
  expect(a.request).toMatchObject({ kind: "run", threadId: childA, task: CHILDREN[0]!.question, parentThreadId: parent });
  // A third of what the parent had left after its one model call: floor(30 / 3).
  expect(a.request.maxModelCalls).toBe(10);
  // The child got the parent's sources by reference.
  expect((await readSourceManifest(ab.blobs, childA)).map((s) => s.id)).toEqual([AUDIT_ID]);
  // And its skills, stored with it as `submit` stores a thread's (its worker writes them back).
  const skills = await ab.blobs.get(THREAD_SKILL_PATHS.manifest(childA));
  expect(JSON.parse(new TextDecoder().decode(skills!)).map((s: { name: string }) => s.name)).toEqual(["audit-notes"]);
  expect(await runQueuedRequest(a, worker)).toMatchObject({ outcome: "finished", status: "completed", parentResumed: parent });

  // The parent's resume comes while child B still waits: its delegate call runs again (a replay),
  // takes A's report, queues nothing new and pauses again for B alone.
  expect(b.request).toMatchObject({ kind: "run", threadId: childB, parentThreadId: parent });
  expect(await workNext({ kind: "resume", threadId: parent })).toMatchObject({ outcome: "finished", status: "interrupted" });
  expect((await showThread(nats.backbone, parent)).waitingFor).toEqual([{ kind: "child_run", child: childB, question: CHILDREN[1]!.question }]);
  expect(await queue.depth()).toBe(1); // B, taken and not yet acknowledged

  // B was given no sources; it finds a page of its own (stored as its fetch_url stores one).
  expect(await readSourceManifest(ab.blobs, childB)).toEqual([]);
  await storeSources(ab.blobs, childB, [await sourceFromBytes("https://example.org/customers", new TextEncoder().encode(PAGE))]);
  expect(await runQueuedRequest(b, worker)).toMatchObject({ outcome: "finished", status: "completed", parentResumed: parent });
  expect(await workNext({ kind: "resume", threadId: parent })).toMatchObject({ outcome: "finished", status: "completed" });
  expect(await queue.depth()).toBe(0); // two children, two resumes: nothing submitted twice

  // Each child's report is a source of the parent, and the parent's citations of them verify.
  const sources = await readSourceManifest(ab.blobs, parent);
  const reportIds = [childA, childB].map((c) => sources.find((s) => s.origin === `thread:${c}`)?.id);
  expect(reportIds).toEqual(await Promise.all([childA, childB].map(async (c) => sourceIdFor(new TextEncoder().encode(await reportOf(c))))));
  const check = checkCitations(await reportOf(parent), (await ThreadSources.load(ab.blobs, parent)).texts);
  expect(check).toMatchObject({ ok: true, verifiedSources: [...reportIds, PAGE_ID].sort() });
  expect(sources.find((s) => s.id === PAGE_ID)?.origin).toBe("https://example.org/customers");

  // Each delegate call is logged as ended once, when it took its child's report (a pause is no end).
  const ends = await nats.backbone.events.history(parent, { types: [EventType.ToolFinished] });
  const delegateEnds = ends.flatMap((e) => (e.type === EventType.ToolFinished && e.data.tool === "delegate" ? [e.data] : []));
  expect(delegateEnds.map((d) => [d.status, String(d.output).includes("published a verified report, stored as source")])).toEqual([
    ["ok", true],
    ["ok", true],
  ]);

  // Linked both ways: in the events, in `show`, in `threads`.
  const parentEvents = await nats.backbone.events.history(parent, { types: [EventType.ChildSubmitted, EventType.ChildFinished] });
  expect(parentEvents.map((e) => [e.type, (e.data as { child: string }).child])).toEqual([
    ...parentEvents.slice(0, 2).map((e) => [EventType.ChildSubmitted, (e.data as { child: string }).child]),
    [EventType.ChildFinished, childA],
    [EventType.ChildFinished, childB],
  ]);
  expect(parentEvents.slice(0, 2).map((e) => (e.data as { child: string }).child).sort()).toEqual([childA, childB].sort());
  for (const [i, child] of [childA, childB].entries()) {
    const from = await nats.backbone.events.history(child, { types: [EventType.DelegatedFrom] });
    expect(from.map((e) => e.data)).toEqual([{ parent, question: CHILDREN[i]!.question }]);
    expect((await showThread(nats.backbone, child)).parent).toBe(parent);
  }
  const byId = (x: { threadId: string }, y: { threadId: string }) => x.threadId.localeCompare(y.threadId);
  expect((await showThread(nats.backbone, parent)).children?.sort(byId)).toEqual(
    [
      { threadId: childA, question: CHILDREN[0]!.question, ended: { status: "completed", source: reportIds[0] } },
      { threadId: childB, question: CHILDREN[1]!.question, ended: { status: "completed", source: reportIds[1] } },
    ].sort(byId),
  );
  const listed = new Map((await listThreads(nats.backbone)).map((t) => [t.threadId, t]));
  expect(listed.get(parent)?.children?.sort()).toEqual([childA, childB].sort());
  expect(listed.get(childB)?.parent).toBe(parent);
});

it("a child that fails gives the parent a tool error it can act on", async () => {
  const parent = "deleg-fails";
  await submit(parent, "fail: delegate something", false);
  expect(await workNext({ kind: "run", threadId: parent })).toMatchObject({ status: "interrupted" });
  const [wait] = (await showThread(nats.backbone, parent)).waitingFor ?? [];
  const child = wait?.kind === "child_run" ? wait.child : "";
  expect(child).toBe(childThreadId(parent, await delegateCallId(parent))); // from (parent, tool call): a replay names the same child
  // A request no worker can run ends failed for good (as one that took down every worker does).
  const request = await nextRequest();
  expect(request.request.threadId).toBe(child);
  await request.drop("the child cannot run here");
  // Failed on the queue, where no worker sees it end: the queue itself wakes the parent.
  await workNext({ kind: "resume", threadId: parent });
  const turns = await nats.backbone.events.history(parent, { types: [EventType.ModelTurn] });
  expect(turns.at(-1)?.data).toMatchObject({
    text: `got: Error: the child run ${child} failed (failed): the child cannot run here. It has no verified report to cite. Answer the question yourself, or delegate a narrower one.`,
  });
  const finished = await nats.backbone.events.history(parent, { types: [EventType.ChildFinished] });
  expect(finished.map((e) => e.data)).toEqual([{ child, status: "failed", reason: "the child cannot run here" }]);
});

/** The id of the parent's delegate call, from its `tool.started` event. */
async function delegateCallId(parent: string): Promise<string> {
  const started = await nats.backbone.events.history(parent, { types: [EventType.ToolStarted] });
  const call = started.find((e) => e.type === EventType.ToolStarted && e.data.tool === "delegate");
  return call?.type === EventType.ToolStarted ? call.data.callId : "";
}
