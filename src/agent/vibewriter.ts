import { createHash, randomUUID } from "node:crypto";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage, HumanMessage } from "@langchain/core/messages";
import type { StructuredTool } from "@langchain/core/tools";
import { Command } from "@langchain/langgraph";
import { recordedMemory } from "./memory-backend.ts";
import { CompositeBackend, createDeepAgent, StoreBackend, type SandboxBackendProtocolV2 } from "deepagents";
import type { AgentMiddleware } from "langchain";
import type { Choir } from "../choir/index.ts";
import type { Wallet } from "../wallet/index.ts";
import { assertThreadId } from "../config/index.ts";
import { AgentError, AgentErrorCode } from "./errors.ts";
import { EventType, type RunnerInfo, RunStatus, type VibewriterEvent } from "../nats/index.ts";
import { createEffectJournalMiddleware } from "./middleware/effect-journal.ts";
import { createEventMiddleware } from "./middleware/events.ts";
import type { AgentBackbone, ChildRunPort, SandboxPort } from "./ports.ts";
import { mainPrompt } from "./prompts.ts";
import { createToolPolicyMiddleware } from "./middleware/tool-policy.ts";
import type { ThreadSandboxNotice } from "../sandbox/index.ts";
import { createEmitter } from "./emitter.ts";
import { createModelCallMiddleware } from "./middleware/model-calls.ts";
import { addModelCall, noModelCalls } from "./model-usage.ts";
import { createToolErrorMiddleware } from "./middleware/tool-errors.ts";
import { DEFAULT_BUDGET, RunBudget, type BudgetLimits, type ModelUsage } from "./run-budget.ts";
import { prepareSandbox } from "./prepare-sandbox.ts";
import { loadSourcesDir, type SourceInfo } from "./sources.ts";
import { buildSubagents, SUBAGENT_DESCRIPTIONS } from "./subagents.ts";
import { mainContextMiddleware } from "./middleware/context.ts";
import { createCheckCitationsTool } from "./tools/citations.ts";
import { createFetchUrlTool } from "./tools/fetch-url.ts";
import { createChoirTools } from "./tools/choir.ts";
import { guardChoirPublish } from "./tools/choir-guard.ts";
import { readBackendText } from "./tools/context.ts";
import { createProposePaymentTool } from "./tools/payment.ts";
import { createDelegateTool } from "./tools/delegate.ts";
import { pendingInterrupts } from "./pending-interrupts.ts";
import { createPublishReportTool, REPORT_ARTIFACT } from "./tools/publish.ts";

/** Long-term memory: one namespace shared by every thread (it is the point of memory). */
export const MEMORY_NAMESPACE = ["vibewriter", "memories"] as const;
export const MEMORY_ROUTE = "/memories/";
export const MEMORY_FILE = "/memories/AGENTS.md";

export interface VibewriterOptions {
  backbone: AgentBackbone;
  threadId: string;
  model: BaseChatModel;
  /** The thread's sandbox, kept open by the caller. Without it, one is opened from `sandboxes` (and closed by `close()`). */
  sandbox?: SandboxBackendProtocolV2;
  /** Where the thread's own sandbox comes from when `sandbox` is not given: the process's VM pool (`src/app`). */
  sandboxes?: SandboxPort;
  /** User skill folders, in addition to the built-in `skills/` (later folders win by name). */
  skillDirs?: string[];
  /** `--sources`: a folder of md/txt/html/pdf files, stored as artifacts and placed in the sandbox. */
  sourcesDir?: string;
  /** Register `fetch_url` (the host fetches; the VM never has network). Off by default. */
  allowNetwork?: boolean;
  /** With `allowNetwork`: let `fetch_url` reach loopback and private addresses too (an intranet, tests). */
  allowPrivateNetwork?: boolean;
  /** The owner's wallet: adds `propose_payment` (policy-checked, may pause for approval) to the main agent. */
  wallet?: Wallet;
  /** Choir: search and cite published reports (main, researcher), publish to Choir (publisher). */
  choir?: { choir: Choir; author: string };
  /**
   * Child runs on the run queue: adds `delegate` to the main agent. A worker passes it; a local
   * `run` does not (no worker would run the child or resume the parent).
   */
  childRuns?: ChildRunPort;
  /** Extra host tools for the main agent. */
  tools?: StructuredTool[];
  /** Live display hook; every event also goes to the thread's event log. */
  onEvent?: (e: VibewriterEvent) => void;
  /** Model calls and tokens this thread may use in all (main agent and subagents); at the limit the run pauses for the owner. */
  budget?: BudgetLimits;
  /**
   * Stops the preparation (sources, sandbox, skills: it rejects, and the thread's VM is closed) and
   * the run's graph (LangGraph's own signal: no further step runs or is checkpointed). An aborted
   * run is not logged as failed: whoever stopped it says why (Ctrl-C, a lost lease).
   */
  signal?: AbortSignal;
  /**
   * The task's outcome is a published report: a run that ends without one is `incomplete`, not
   * `completed` (the CLI's `run`). Off: only an unfinished plan makes a run incomplete.
   */
  expectReport?: boolean;
  /** Who runs the thread, and whether its lease was taken over: written on `run.started`. */
  runner?: { info: RunnerInfo; takenOver: boolean };
  /** `performance.now()` when the runner took the thread: `wallMs` on run.finished/failed counts from it (default: run()/resume()). */
  runSince?: number;
}

/** How a run ended: one definition, shared with the `run.finished` event. */
export { RunStatus };

export interface Todo {
  content: string;
  status: "pending" | "in_progress" | "completed";
}

export interface RunResult {
  threadId: string;
  status: RunStatus;
  /** The published report (from the Object Store), if one was published. */
  report?: string;
  reportArtifact?: string;
  todos: Todo[];
  /** The main agent's last message. */
  finalMessage: string;
  /** Pending interrupts when `status` is interrupted. */
  interrupts: unknown[];
  /** Why the run is `incomplete` (no report, plan steps left open). */
  reason?: string;
  /** Model calls and tokens of the thread so far (all runs, main agent and subagents). */
  usage: ModelUsage;
}

export interface Vibewriter {
  threadId: string;
  /** The compiled deepagents graph. */
  agent: ReturnType<typeof createDeepAgent>;
  sources: SourceInfo[];
  run(task: string): Promise<RunResult>;
  /** Continue an interrupted or crashed run from its last checkpoint (optionally answering an interrupt). */
  resume(resumeValue?: unknown): Promise<RunResult>;
  close(): Promise<void>;
}

/** What the thread's `model.call` events add up to. */
export function usageOf(events: readonly { type: string; data: unknown }[]): ModelUsage {
  const sum = noModelCalls();
  for (const e of events) if (e.type === EventType.ModelCall) addModelCall(sum, e.data);
  return { calls: sum.calls, inputTokens: sum.inputTokens, outputTokens: sum.outputTokens };
}

function shortHash(s: string): string {
  return createHash("sha256").update(s).digest("hex").slice(0, 12);
}

/** One line for the user about the thread's VM (a `warning` event). */
function noticeText(n: ThreadSandboxNotice): string {
  switch (n.kind) {
    case "agent_unresponsive":
      return `the sandbox's guest agent did not answer within ${n.timeoutMs / 1000} s: its VM is treated as dead and replaced`;
    case "vm_replaced":
      return `the sandbox runs on a new VM (number ${n.generation} of this run), with the thread's /workspace, skills and sources restored`;
    case "call_retried":
      return `a ${n.op} call is run again on a new VM: its VM died during the call (${n.failure})`;
  }
}

/** The thread id rule (`isThreadId`), failing as the agent's `AgentError(invalid_thread_id)`. */
export function validateThreadId(threadId: string): void {
  assertThreadId(threadId, (message) => new AgentError(AgentErrorCode.InvalidThreadId, message));
}

/**
 * Build a Vibewriter for one thread: prepares the sandbox (skills at /skills/, sources at
 * /workspace/sources/), stores `--sources` as artifacts, and compiles the deep agent with the
 * JetStream checkpointer, /memories/ on the NATS store, planning, subagents and events.
 */
export async function createVibewriter(opts: VibewriterOptions): Promise<Vibewriter> {
  validateThreadId(opts.threadId);
  if (!opts.model) throw new AgentError(AgentErrorCode.InvalidArgument, "createVibewriter: a model is required");
  if (!opts.sandbox && !opts.sandboxes) {
    throw new AgentError(AgentErrorCode.InvalidArgument, "createVibewriter: give a sandbox, or the sandboxes to open one from (the VM pool of `src/app`)");
  }
  const threadId = opts.threadId;
  const backbone = opts.backbone;
  const emit = createEmitter(backbone, threadId, opts.onEvent);
  const budget = new RunBudget(opts.budget ?? DEFAULT_BUDGET, usageOf(await backbone.events.history(threadId, { types: [EventType.ModelCall] })));
  // Per agent: the budget, usage and tool-call ids of its model calls, and what it sees of tool errors.
  const modelCalls = (agent: string) => [createModelCallMiddleware({ agent, threadId, emit, budget }), createToolErrorMiddleware({ agent, emit })] as unknown as AgentMiddleware[];

  // Sources first: a bad folder is refused before anything is stored or started.
  const newSources = opts.sourcesDir ? await loadSourcesDir(opts.sourcesDir) : [];

  const onNotice = (n: ThreadSandboxNotice) => void emit({ id: `sandbox:${randomUUID()}`, type: EventType.Warning, agent: "main", data: { message: noticeText(n) } }).catch(() => {});
  opts.signal?.throwIfAborted();
  // Opened here (not the caller's): this Vibewriter closes it.
  const opened = opts.sandbox ? undefined : await opts.sandboxes!.open(threadId, { onNotice });
  const sandbox = opts.sandbox ?? opened!;
  // Aborted while preparing (Ctrl-C, a lost lease): closing the VM ends any call waiting on it.
  const closeOnAbort = () => void opened?.close().catch(() => {});
  if (opened) opts.signal?.addEventListener("abort", closeOnAbort, { once: true });
  try {
    opts.signal?.throwIfAborted();
    const { skillsDir, sources, replacementSetup } = await prepareSandbox({ sandbox, backbone, threadId, emit, skillDirs: opts.skillDirs ?? [], newSources });
    // A VM that replaces this one mid-run gets the same skills and sources before its first call.
    opened?.setReplacementSetup(replacementSetup);

    const backend = new CompositeBackend(sandbox, {
      [MEMORY_ROUTE]: recordedMemory(new StoreBackend({ store: backbone.store, namespace: [...MEMORY_NAMESPACE] }), MEMORY_ROUTE, emit),
    });
    const infos = [...sources.infos]; // as the run starts (`run.started`, `Vibewriter.sources`)
    const ctx = { threadId, backbone, backend, emit, sources, allowPrivateNetwork: opts.allowPrivateNetwork === true };
    const [searchChoir, citeArticle, publishToChoir] = opts.choir
      ? createChoirTools({ ...opts.choir, threadId, readText: (p) => readBackendText(backend, p) }).map((t) => t as unknown as StructuredTool)
      : [];
    const hostTools = {
      check_citations: createCheckCitationsTool(ctx, "verifier"),
      publish_report: createPublishReportTool(ctx, "publisher"),
      fetch_url: opts.allowNetwork ? createFetchUrlTool(ctx, "researcher") : undefined,
      search_choir_kb: searchChoir,
      publish_to_choir: publishToChoir ? guardChoirPublish(publishToChoir, ctx) : undefined,
    };
    const mainTools: StructuredTool[] = [createCheckCitationsTool(ctx, "main"), ...(opts.tools ?? [])];
    if (searchChoir && citeArticle) mainTools.push(searchChoir, citeArticle);
    if (opts.allowNetwork) mainTools.push(createFetchUrlTool(ctx, "main"));
    if (opts.childRuns) mainTools.push(createDelegateTool({ ...ctx, childRuns: opts.childRuns, budget, allowNetwork: opts.allowNetwork === true, skillDirs: opts.skillDirs ?? [] }) as unknown as StructuredTool);
    if (opts.wallet) mainTools.push(createProposePaymentTool({ wallet: opts.wallet, threadId, emit }) as unknown as StructuredTool);

    const agent = createDeepAgent({
      model: opts.model,
      systemPrompt: mainPrompt(skillsDir),
      tools: mainTools,
      backend,
      checkpointer: backbone.checkpointer,
      store: backbone.store,
      skills: [skillsDir],
      memory: [MEMORY_FILE],
      subagents: buildSubagents({ model: opts.model, backend, store: backbone.store, threadId, emit, hostTools, skillsDir, modelCalls }),
      middleware: [
        ...mainContextMiddleware({ backend, skillsDir, memory: [MEMORY_FILE], subagents: SUBAGENT_DESCRIPTIONS }),
        createEventMiddleware({ agent: "main", emit }) as unknown as AgentMiddleware,
        ...modelCalls("main"),
        createToolPolicyMiddleware({ agent: "main agent", readOnlyPrefixes: [skillsDir] }) as unknown as AgentMiddleware,
        createEffectJournalMiddleware({ store: backbone.store, threadId, agent: "main" }) as unknown as AgentMiddleware,
      ],
    });

    // "sync": each step's checkpoint is stored before the next step starts, so a crash never
    // leaves a side effect of step N+1 without step N on record.
    const config = { configurable: { thread_id: threadId }, recursionLimit: 500, durability: "sync" as const, ...(opts.signal ? { signal: opts.signal } : {}) };

    const collect = async (state: Record<string, unknown>): Promise<RunResult> => {
      const messages = (state.messages ?? []) as unknown[];
      const last = [...messages].reverse().find((m) => AIMessage.isInstance(m as AIMessage)) as AIMessage | undefined;
      const finalMessage = typeof last?.content === "string" ? last.content : (last?.text ?? "");
      const interrupts = (state.__interrupt__ as unknown[] | undefined) ?? [];
      const raw = await backbone.blobs.get(REPORT_ARTIFACT(threadId));
      const todos = ((state.todos ?? []) as Todo[]).map((t) => ({ content: t.content, status: t.status }));
      // Completed means the outcome exists: a report when one is expected, and no open plan step.
      // Without the report it was asked for, the run failed; with it but steps left open, it is incomplete.
      const open = todos.filter((t) => t.status !== "completed");
      const noReport = interrupts.length === 0 && opts.expectReport === true && !raw;
      const reason =
        interrupts.length > 0
          ? undefined
          : noReport
            ? `the agent stopped without publishing a report${open.length ? `, with ${open.length} of ${todos.length} planned steps not done` : ""}`
            : open.length
              ? `the agent stopped with ${open.length} of ${todos.length} planned steps not done: ${open.map((t) => t.content).join("; ").slice(0, 300)}`
              : undefined;
      return {
        threadId,
        status: interrupts.length > 0 ? RunStatus.Interrupted : noReport ? RunStatus.Failed : reason ? RunStatus.Incomplete : RunStatus.Completed,
        ...(raw ? { report: new TextDecoder().decode(raw), reportArtifact: REPORT_ARTIFACT(threadId) } : {}),
        todos,
        finalMessage,
        interrupts,
        ...(reason ? { reason } : {}),
        usage: budget.used(),
      };
    };

    const started = (): { runner?: RunnerInfo; takenOver?: boolean } => (opts.runner ? { runner: opts.runner.info, takenOver: opts.runner.takenOver } : {});
    // Another runner starting at the same point (a takeover at the checkpoint its predecessor
    // resumed from) is a run of its own: its start must not be deduplicated against the first.
    const startedId = (key: string): string => `main:${key}:started${opts.runner ? `:${opts.runner.info.id}` : ""}`;
    const invoke = async (input: unknown, eventKey: string): Promise<RunResult> => {
      const since = opts.runSince ?? invokedAt;
      const wallMs = () => Math.round(performance.now() - since);
      let state: Record<string, unknown>;
      try {
        state = (await agent.invoke(input as never, config as never)) as unknown as Record<string, unknown>;
      } catch (cause) {
        if (opts.signal?.aborted) throw opts.signal.reason ?? cause;
        const message = (cause as Error)?.message ?? String(cause);
        await emit({ id: `main:${eventKey}:failed:${shortHash(message)}`, type: EventType.RunFailed, agent: "main", data: { message, wallMs: wallMs() } }).catch(() => {});
        throw new AgentError(
          AgentErrorCode.RunFailed,
          `the run on thread ${threadId} stopped: ${message}\nIts state is saved; continue it with \`vibewriter resume ${threadId}\`.`,
          { cause },
        );
      }
      const result = await collect(state);
      await emit({
        id: `main:${eventKey}:finished:${result.status}:${shortHash(result.finalMessage + (result.report ?? ""))}`,
        type: EventType.RunFinished,
        agent: "main",
        data: { status: result.status, report: result.reportArtifact ?? null, todos: result.todos.length, ...(result.reason ? { reason: result.reason } : {}), wallMs: wallMs() },
      });
      return result;
    };

    opts.signal?.removeEventListener("abort", closeOnAbort);
    opts.signal?.throwIfAborted();
    let closed = false;
    let invokedAt = performance.now();
    return {
      threadId,
      agent,
      sources: infos,
      async run(task: string) {
        invokedAt = performance.now();
        if (typeof task !== "string" || !task.trim()) throw new AgentError(AgentErrorCode.InvalidArgument, "run: the task is empty");
        // Ids from the thread's position, so the same task twice on one thread stays two messages.
        const before = await agent.graph.getState(config as never);
        const position = ((before.values as { messages?: unknown[] } | undefined)?.messages ?? []).length;
        const key = `run:${position}:${shortHash(task)}`;
        await emit({ id: startedId(key), type: EventType.RunStarted, agent: "main", data: { task, sources: infos.map((i) => i.id), ...started() } });
        return invoke({ messages: [new HumanMessage({ id: `task-${position}-${shortHash(task)}`, content: task })] }, key);
      },
      async resume(resumeValue?: unknown) {
        invokedAt = performance.now();
        const snapshot = await agent.graph.getState(config as never);
        const hasCheckpoint = Boolean((snapshot as { config?: { configurable?: { checkpoint_id?: string } } }).config?.configurable?.checkpoint_id);
        if (!hasCheckpoint) {
          throw new AgentError(AgentErrorCode.UnknownThread, `no run to resume on thread "${threadId}" (it has no saved state)`);
        }
        const checkpointId = (snapshot as unknown as { config: { configurable: { checkpoint_id: string } } }).config.configurable.checkpoint_id;
        const key = `resume:${checkpointId}`;
        // Paused when a task still waits on an interrupt, even if `next` is empty (a step resumed in part).
        const paused = pendingInterrupts((await backbone.checkpointer.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: "" } }))?.pendingWrites).length > 0;
        if (resumeValue === undefined && (snapshot.next?.length ?? 0) === 0 && !paused) {
          const last = await collect(snapshot.values as Record<string, unknown>);
          if (last.status !== RunStatus.Incomplete && last.status !== RunStatus.Failed) return last; // finished: nothing to do
          // The agent stopped short of the outcome: ask it to carry on, once per stopping point.
          await emit({ id: startedId(key), type: EventType.RunStarted, agent: "main", data: { resumed: true, checkpoint: checkpointId, ...started() } });
          const nudge = `Continue the task: ${last.reason}. Finish what is missing.`;
          return invoke({ messages: [new HumanMessage({ id: `continue-${checkpointId}`, content: nudge })] }, key);
        }
        await emit({ id: startedId(key), type: EventType.RunStarted, agent: "main", data: { resumed: true, checkpoint: checkpointId, ...started() } });
        return invoke(resumeValue === undefined ? null : new Command({ resume: resumeValue }), key);
      },
      async close() {
        if (closed) return;
        closed = true;
        await opened?.close();
      },
    };
  } catch (err) {
    await opened?.close().catch(() => {});
    throw err;
  }
}
