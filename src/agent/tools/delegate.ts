import { tool, type ToolRuntime } from "@langchain/core/tools";
import { interrupt, isGraphBubbleUp } from "@langchain/langgraph";
import { z } from "zod";
import { childOutcome, childThreadId, readChildRecord, shareSources, writeChildRecord, type ChildRecord } from "../child-runs.ts";
import { createEmitter } from "../emitter.ts";
import { EventType } from "../../nats/index.ts";
import type { ChildRunPort } from "../ports.ts";
import type { RunBudget } from "../run-budget.ts";
import { storeThreadSkills } from "../thread-skills.ts";
import { SOURCE_PATHS, sourceFromBytes, type Source } from "../sources.ts";
import type { HostToolContext } from "./context.ts";

/** What the parent pauses with while its child runs (the worker re-queues the parent when the child ends). */
export interface ChildRunWait {
  kind: "child_run";
  child: string;
  question: string;
}

/** A child gets a third of the parent's remaining budget unless the model asks for another share of it. */
export const CHILD_BUDGET_SHARE = 1 / 3;
/** Fewer calls than this cannot plan, write and publish a report. */
export const MIN_CHILD_CALLS = 4;
/** The report as returned to the model; the whole text is the stored source in the sandbox. */
const MAX_REPORT_CHARS = 12_000;
/** A sub-question is a prompt, not a document: material goes to the child as sources. */
export const MAX_QUESTION_CHARS = 20_000;

export interface DelegateToolOptions extends HostToolContext {
  childRuns: ChildRunPort;
  /** The parent's budget: the child's is carved from what is left of it. */
  budget: RunBudget;
  /** The child may fetch_url when the parent may. */
  allowNetwork: boolean;
  /** The parent's skill folders: stored with the child, as `submit` stores a thread's, so its worker has them too. */
  skillDirs: readonly string[];
}

const clip = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

/** The child's budget: the asked-for calls (or the default share), never above the parent's remaining. */
export function childBudget(budget: RunBudget, asked: number | undefined): { maxModelCalls: number; maxTokens: number } | string {
  const used = budget.used();
  const calls = budget.limits.maxCalls - used.calls;
  const tokens = budget.limits.maxTokens - used.inputTokens - used.outputTokens;
  const maxModelCalls = Math.min(calls, asked ?? Math.max(MIN_CHILD_CALLS, Math.floor(calls * CHILD_BUDGET_SHARE)));
  if (maxModelCalls < MIN_CHILD_CALLS) {
    return `this run has ${calls} model call(s) left; a child run needs at least ${MIN_CHILD_CALLS}. Answer the question yourself.`;
  }
  return { maxModelCalls, maxTokens: Math.max(1, Math.floor((tokens * maxModelCalls) / Math.max(calls, 1))) };
}

/**
 * `delegate`: hands a sub-question to another Vibewriter agent, a child run on the run queue with
 * its own thread and VM, a narrower budget, and the parent's sources or none. The parent pauses
 * (LangGraph `interrupt`, holding no worker); when the child ends the worker re-queues the
 * parent, this call runs again and takes the child's outcome: a verified report becomes a source
 * of the parent (origin `thread:<child>`), placed in /workspace/sources like any other, so the
 * parent cites it as it cites any source. The child's id comes from (parent, tool call) and its
 * record is stored before it is queued, so a replayed call never submits a second child.
 */
export function createDelegateTool(opts: DelegateToolOptions) {
  const parent = opts.threadId;
  return tool(
    async (input, runtime: ToolRuntime) => {
      const callId = runtime.toolCallId ?? runtime.toolCall?.id;
      if (!callId) return "Error: delegate needs a tool call id; no child run was started.";
      const child = childThreadId(parent, callId);
      try {
        let record = await readChildRecord(opts.backbone.store, child);
        if (!record) {
          const question = input.question.trim();
          if (!question) return "Error: the question is empty; no child run was started.";
          if (question.length > MAX_QUESTION_CHARS) {
            return `Error: the question is ${question.length} characters; at most ${MAX_QUESTION_CHARS}. Ask it shortly; the child can read this run's sources (sources: "parent"). No child run was started.`;
          }
          const budget = childBudget(opts.budget, input.maxModelCalls);
          if (typeof budget === "string") return `Error: ${budget}`;
          const sources = input.sources ?? "parent";
          record = { child, parent, question, sources, ...budget, allowNetwork: opts.allowNetwork, submittedAt: new Date().toISOString() };
          if (sources === "parent") await shareSources(opts.backbone.blobs, parent, child);
          if (opts.skillDirs.length > 0) await storeThreadSkills(opts.backbone.blobs, child, opts.skillDirs);
          await writeChildRecord(opts.backbone.store, record);
        }
        await submitOnce(opts, record);

        const outcome = await waitForChild(opts, record);
        if (outcome.state === "failed") {
          await opts.emit({ id: `main:${callId}:child-finished`, type: EventType.ChildFinished, agent: "main", data: { child, status: outcome.status, reason: outcome.reason } });
          return `Error: the child run ${child} failed (${outcome.status}): ${outcome.reason}. It has no verified report to cite. Answer the question yourself, or delegate a narrower one.`;
        }
        const id = await storeChildReport(opts, record, outcome.report, outcome.cited);
        if (typeof id !== "string") return `Error: ${id.error}`;
        const carried = outcome.cited.map((c) => c.id);
        await opts.emit({ id: `main:${callId}:child-finished`, type: EventType.ChildFinished, agent: "main", data: { child, status: outcome.status, source: id } });
        return (
          `The child run ${child} published a verified report, stored as source ${id} at ${SOURCE_PATHS.sandboxFile(id)}. ` +
          `Cite it like any source: [[src:${id}|"<exact quote from the report>"]].` +
          (carried.length ? ` The sources its report cites (${carried.join(", ")}) are now yours too, so its own citations verify here as well.` : "") +
          "\n\n" +
          (outcome.report.length <= MAX_REPORT_CHARS
            ? outcome.report
            : `${outcome.report.slice(0, MAX_REPORT_CHARS)}\n\n(truncated: the first ${MAX_REPORT_CHARS} of ${outcome.report.length} characters; the whole report is ${SOURCE_PATHS.sandboxFile(id)})`)
        );
      } catch (e) {
        if (isGraphBubbleUp(e)) throw e; // the pause must propagate
        return `Error: delegating to child run ${child} failed: ${(e as Error).message}`;
      }
    },
    {
      name: "delegate",
      description:
        "Hand a self-contained sub-question to another Vibewriter agent (a child run with its own sandbox and a smaller budget). " +
        "This run pauses until the child ends; you then get the child's verified report, stored as a source you can cite. " +
        "Use it for a sub-question that needs its own research; give the child your sources (default) or none.",
      schema: z.object({
        question: z.string().describe("The sub-question, complete in itself: the child sees nothing of this conversation"),
        sources: z.enum(["parent", "none"]).optional().describe('"parent" (default): the child gets this run\'s sources; "none": it starts with none'),
        maxModelCalls: z.number().int().positive().optional().describe("The child's model-call budget (default: a third of what this run has left)"),
      }),
    },
  );
}

/** Queue the child unless the parent's log says it was; the child's log names its parent first. */
async function submitOnce(opts: DelegateToolOptions, r: ChildRecord): Promise<void> {
  const submitted = await opts.backbone.events.history(r.parent, { types: [EventType.ChildSubmitted] });
  if (submitted.some((e) => e.type === EventType.ChildSubmitted && e.data.child === r.child)) return;
  const childEmit = createEmitter(opts.backbone, r.child);
  await childEmit({ id: `delegated:${r.parent}`, type: EventType.DelegatedFrom, agent: "main", data: { parent: r.parent, question: clip(r.question, 400) } });
  // As `submit` logs a queued thread (same id rule), so `threads` shows the child queued at once.
  await childEmit({ id: `queued/run/${r.submittedAt}`, type: EventType.RunQueued, agent: "main", data: { kind: "run", task: r.question, allowNetwork: r.allowNetwork, by: r.parent } });
  // Queued before the parent's event: a crash in between re-submits the identical request (deduplicated by the queue).
  await opts.childRuns.submit({
    threadId: r.child,
    parentThreadId: r.parent,
    task: r.question,
    maxModelCalls: r.maxModelCalls,
    maxTokens: r.maxTokens,
    allowNetwork: r.allowNetwork,
    submittedAt: r.submittedAt,
  });
  await opts.emit({
    id: `main:child:${r.child}:submitted`,
    type: EventType.ChildSubmitted,
    agent: "main",
    data: { child: r.child, question: clip(r.question, 400), sources: r.sources, maxModelCalls: r.maxModelCalls, maxTokens: r.maxTokens },
  });
}

/** The child's end; until then the parent pauses again (a resume that comes early finds it still running). */
async function waitForChild(opts: DelegateToolOptions, r: ChildRecord) {
  for (;;) {
    const outcome = await childOutcome(opts.backbone, r.child);
    if (outcome.state === "reported" || outcome.state === "failed") return outcome;
    const wait: ChildRunWait = { kind: "child_run", child: r.child, question: clip(r.question, 200) };
    // Returns only on a resume; the value is ignored: the child's own log is the truth.
    interrupt(wait);
  }
}

/**
 * The child's report as a source of the parent, with the child's sources it cites (so the
 * report's own citations verify in the parent too); content-addressed, so storing twice is
 * harmless. All placed in the sandbox with the thread's whole index.
 */
async function storeChildReport(opts: DelegateToolOptions, r: ChildRecord, report: string, cited: readonly Source[]): Promise<string | { error: string }> {
  const source = { ...(await sourceFromBytes(`thread:${r.child}`, new TextEncoder().encode(report))), title: `Report of child run ${r.child}: ${clip(r.question, 120)}` };
  const adding = [source, ...cited];
  const placed = await opts.sources.add(adding, opts.backend); // the parent's (this thread's) sources
  if (placed) return { error: `stored the child's report as ${source.id} but could not place it in the sandbox (${placed})` };
  await opts.emit({
    id: `main:child:${r.child}:source`,
    type: EventType.SourceStored,
    agent: "main",
    data: { id: source.id, origin: source.origin, kind: source.kind, chars: source.chars, title: source.title },
  });
  return source.id;
}
