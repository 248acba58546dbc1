/**
 * Turns a run's events into what a person sees: a status line (current todo, subagent, tool) and
 * permanent lines for the steps worth keeping (todo done, subagent hand-off, file written, report).
 * Pure: the same events give the same output; `run`, `resume`, `demo` and `events` share it.
 */
import type { VibewriterEvent } from "../nats/index.ts";
import { addModelCall, type ModelUsageTotals, noModelCalls } from "../agent/index.ts";

/** The event's data read defensively: the log may hold events written by an older version. */
const dataOf = (e: VibewriterEvent): Record<string, unknown> => (e.data ?? {}) as Record<string, unknown>;

export interface Todo {
  content: string;
  status: string;
}

/** Model calls summed (src/agent/model-usage.ts). */
export type CallTotals = ModelUsageTotals;
export const noCalls = noModelCalls;
export const addCall = addModelCall;

export interface ProgressState {
  todos: Todo[];
  /** Subagents currently working, innermost last. */
  agents: string[];
  /** The tool each agent is running now, by agent name ("main" or a subagent). */
  tools: Record<string, string>;
  /** Agents waiting for the model now: since when (ms, the display's clock) and which model. */
  waiting: Record<string, { model: string; since: number }>;
  /** Model calls seen so far, by agent. */
  usage: Record<string, CallTotals>;
  /** Each working subagent's `usage` when it started, to tell what this hand-off cost. */
  usageAtStart: Record<string, CallTotals>;
  finished: boolean;
}

export const initialProgress = (): ProgressState => ({ todos: [], agents: [], tools: {}, waiting: {}, usage: {}, usageAtStart: {}, finished: false });

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

function todosOf(data: Record<string, unknown>): Todo[] | undefined {
  const raw = data.todos;
  if (!Array.isArray(raw)) return undefined;
  return raw.flatMap((t) => {
    const o = t as { content?: unknown; status?: unknown };
    const content = str(o?.content);
    return content ? [{ content, status: str(o.status) ?? "pending" }] : [];
  });
}

function toolName(e: VibewriterEvent): string {
  return str(dataOf(e).tool) ?? str(dataOf(e).name) ?? "tool";
}

function subagentName(e: VibewriterEvent): string {
  return str(dataOf(e).subagent) ?? str(dataOf(e).subagentType) ?? str(dataOf(e).name) ?? e.agent;
}

const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : 0);

function minus(a: CallTotals, b: CallTotals | undefined): CallTotals {
  if (!b) return { ...a };
  return {
    calls: a.calls - b.calls,
    inputTokens: a.inputTokens - b.inputTokens,
    outputTokens: a.outputTokens - b.outputTokens,
    latencyMs: a.latencyMs - b.latencyMs,
    callsWithTokens: a.callsWithTokens - b.callsWithTokens,
  };
}

function sumAll(byAgent: Record<string, CallTotals>): CallTotals {
  const total = noCalls();
  for (const u of Object.values(byAgent)) {
    total.calls += u.calls;
    total.inputTokens += u.inputTokens;
    total.outputTokens += u.outputTokens;
    total.latencyMs += u.latencyMs;
    total.callsWithTokens += u.callsWithTokens;
  }
  return total;
}

/**
 * Applies one event; returns the new state and the permanent lines it produced. `now` (ms) is
 * when the display saw it — the start of a wait for the model; default: the event's own time.
 */
export function applyEvent(state: ProgressState, e: VibewriterEvent, now?: number): { state: ProgressState; lines: string[] } {
  const s: ProgressState = {
    ...state,
    todos: [...state.todos],
    agents: [...state.agents],
    tools: { ...state.tools },
    waiting: { ...state.waiting },
    usage: { ...state.usage },
    usageAtStart: { ...state.usageAtStart },
  };
  const lines: string[] = [];
  switch (e.type) {
    case "model.started":
      s.waiting[e.agent] = { model: str(dataOf(e).model) ?? "model", since: now ?? (Date.parse(e.at) || 0) };
      break;
    case "model.call":
      delete s.waiting[e.agent];
      s.usage[e.agent] = addCall({ ...(s.usage[e.agent] ?? noCalls()) }, dataOf(e));
      break;
    case "run.started":
      lines.push(`run started: thread ${e.threadId}${str(dataOf(e).task) ? ` — ${str(dataOf(e).task)}` : ""}`);
      break;
    case "todos.updated": {
      const todos = todosOf(dataOf(e));
      if (todos) {
        for (const t of todos) {
          const before = state.todos.find((o) => o.content === t.content);
          if (t.status === "completed" && before?.status !== "completed") lines.push(`✓ ${t.content}`);
        }
        if (state.todos.length === 0 && todos.length > 0) lines.push(`plan: ${todos.length} todos`);
        s.todos = todos;
      }
      break;
    }
    case "tool.started":
      s.tools[e.agent] = toolName(e);
      break;
    case "tool.finished":
      delete s.tools[e.agent];
      break;
    case "subagent.started":
      s.agents.push(subagentName(e));
      s.usageAtStart[subagentName(e)] = { ...(s.usage[subagentName(e)] ?? noCalls()) };
      lines.push(`→ ${subagentName(e)}${str(dataOf(e).description) ? `: ${clip(str(dataOf(e).description)!, 100)}` : ""}`);
      break;
    case "subagent.finished": {
      const name = subagentName(e);
      const i = s.agents.lastIndexOf(name);
      if (i >= 0) s.agents.splice(i, 1);
      else s.agents.pop();
      const spent = minus(s.usage[name] ?? noCalls(), s.usageAtStart[name]);
      delete s.usageAtStart[name];
      delete s.waiting[name];
      lines.push(`← ${name} done${spent.calls > 0 ? ` (${describeCalls(spent)})` : ""}`);
      break;
    }
    case "file.written":
      lines.push(`  wrote ${str(dataOf(e).path) ?? "a file"}`);
      break;
    case "source.stored":
      lines.push(`  source ${str(dataOf(e).id) ?? ""} ${str(dataOf(e).name) ?? str(dataOf(e).path) ?? ""}`.trimEnd());
      break;
    case "skill.loaded":
      lines.push(`  skill ${str(dataOf(e).name) ?? ""}`.trimEnd());
      break;
    case "skill.skipped":
    case "warning":
      lines.push(`  warning: ${str(dataOf(e).message) ?? str(dataOf(e).reason) ?? e.type}`);
      break;
    case "citations.checked":
      lines.push(`  citations checked: ${describeCitations(dataOf(e))}`);
      break;
    case "payment": {
      const d = dataOf(e);
      lines.push(`  payment ${str(d.amount) ?? "?"} ${str(d.asset) ?? ""} to ${str(d.destination) ?? "?"}: ${str(d.status) ?? "?"}${str(d.reason) ? ` (${clip(str(d.reason)!, 100)})` : ""}`);
      break;
    }
    case "report.published":
      lines.push(`report published${str(dataOf(e).artifact) ?? str(dataOf(e).name) ? `: ${str(dataOf(e).artifact) ?? str(dataOf(e).name)}` : ""}`);
      break;
    case "run.finished": {
      s.finished = true;
      s.tools = {};
      s.agents = [];
      s.waiting = {};
      const status = str(dataOf(e).status);
      const spent = sumAll(s.usage);
      lines.push(`run finished${status && status !== "completed" ? ` (${status})` : ""}${spent.calls > 0 ? ` — ${describeCalls(spent)}` : ""}`);
      break;
    }
    case "run.failed": {
      s.finished = true;
      s.waiting = {};
      const spent = sumAll(s.usage);
      lines.push(`run failed: ${firstLine(str(dataOf(e).message) ?? str(dataOf(e).error) ?? "unknown error")}${spent.calls > 0 ? ` — after ${describeCalls(spent)}` : ""}`);
      break;
    }
    default:
      break;
  }
  return { state: s, lines };
}

function describeCitations(d: Record<string, unknown>): string {
  if (typeof d.ok === "boolean") {
    const count = typeof d.citations === "number" ? d.citations : d.count;
    const n = typeof count === "number" ? `${count} ` : "";
    return d.ok ? `${n}all verified` : `${n}some unverifiable`;
  }
  return JSON.stringify(d).slice(0, 120);
}

function clip(s: string, n: number): string {
  return s.length <= n ? s : s.slice(0, n - 1) + "…";
}

/** "2.3 s", "42.0 s", "1 m 23 s", "2 m", "1 h 5 m": a duration for people (latency, time with the model). */
export function formatDuration(ms: number): string {
  const sec = Math.max(0, ms) / 1000;
  if (sec < 59.95) return `${sec.toFixed(1)} s`;
  const whole = Math.round(sec);
  if (whole < 3600) return `${Math.floor(whole / 60)} m${whole % 60 ? ` ${whole % 60} s` : ""}`;
  return `${Math.floor(whole / 3600)} h ${Math.floor((whole % 3600) / 60)} m`;
}

/** A running wait, in whole seconds: "0 s", "12 s", "2 m 5 s". */
export function formatWait(ms: number): string {
  const whole = Math.floor(Math.max(0, ms) / 1000);
  return whole < 60 ? `${whole} s` : formatDuration(whole * 1000);
}

/** 1234567 → "1,234,567". */
export const formatCount = (n: number): string => Math.round(n).toLocaleString("en-US");

/** 950 → "950", 12345 → "12.3k", 4500000 → "4.5M": tokens in a narrow column. */
export function compactCount(n: number): string {
  if (n < 1000) return String(Math.round(n));
  if (n < 999_950) return `${(n / 1000).toFixed(1)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${formatCount(n)} ${n === 1 ? one : many}`;

/** "1,234 in / 56 out tokens", or that the provider reported none (it is then not zero, just unknown). */
export function describeTokens(u: CallTotals): string {
  if (u.callsWithTokens === 0) return "tokens not reported";
  const partial = u.callsWithTokens < u.calls ? ` (reported for ${u.callsWithTokens} of ${u.calls} calls)` : "";
  return `${formatCount(u.inputTokens)} in / ${formatCount(u.outputTokens)} out tokens${partial}`;
}

/** "4 model calls, 9.8 s with the model, 12,345 in / 678 out tokens". */
export function describeCalls(u: CallTotals): string {
  return `${plural(u.calls, "model call")}, ${formatDuration(u.latencyMs)} with the model, ${describeTokens(u)}`;
}

/** "main: model answered in 2.3 s (1,234 in / 56 out tokens)" for one `model.call`. */
export function describeAnswer(e: VibewriterEvent): string {
  const d = dataOf(e);
  return `${e.agent}: model answered in ${formatDuration(num(d.latencyMs))} (${describeTokens(addCall(noCalls(), d))})`;
}

/** Which waiting agent the status line is about: the innermost working agent if it waits, else the longest wait. */
function waitingAgent(s: ProgressState): string | undefined {
  const who = s.agents.at(-1) ?? "main";
  if (s.waiting[who]) return who;
  return Object.entries(s.waiting).sort(([, a], [, b]) => a.since - b.since)[0]?.[0];
}

/**
 * The one-line status: "[2/5] researcher · execute — Research the filings", or while the model
 * is thinking "[2/5] researcher: waiting for the model (12 s) — Research the filings" (`now`: the
 * display's clock, ms). Who and what come before the todo, so a narrow terminal that cuts the
 * line keeps the part that changes.
 */
export function statusLine(s: ProgressState, now?: number): string {
  const done = s.todos.filter((t) => t.status === "completed").length;
  const current = s.todos.find((t) => t.status === "in_progress") ?? s.todos.find((t) => t.status === "pending");
  const waiter = s.finished ? undefined : waitingAgent(s);
  let doing: string;
  if (waiter) {
    const since = s.waiting[waiter]!.since;
    const outer = s.agents.filter((a) => a !== waiter);
    doing = `${outer.length ? `${outer.join(" › ")} › ` : ""}${waiter}: waiting for the model${now !== undefined ? ` (${formatWait(now - since)})` : ""}`;
  } else {
    const tool = (s.agents.length > 0 ? s.tools[s.agents.at(-1)!] : undefined) ?? s.tools.main;
    doing = [...(s.agents.length > 0 ? [s.agents.join(" › ")] : []), ...(tool ? [tool] : [])].join(" · ");
  }
  if (s.todos.length === 0) return [s.finished ? "finished" : "planning…", doing].filter(Boolean).join(" · ");
  const todo = current ? current.content : "all todos done";
  return `[${done}/${s.todos.length}] ${doing ? `${doing} — ` : ""}${todo}`;
}

/** The first non-empty line of a message, clipped (a failure's causes and stacks stay in the log). */
export function firstLine(message: string, max = 200): string {
  const line = message.split("\n").map((l) => l.trim()).find((l) => l !== "") ?? "";
  return clip(line || "unknown error", max);
}

/** The model calls of a list of events, in all and per agent (`main` first): `vibewriter events`' total. */
export function sumModelCalls(events: readonly VibewriterEvent[]): { total: CallTotals; agents: Record<string, CallTotals> } {
  const agents: Record<string, CallTotals> = {};
  const total = noCalls();
  for (const e of events) {
    if (e.type !== "model.call") continue;
    addCall(total, e.data);
    addCall((agents[e.agent] ??= noCalls()), e.data);
  }
  const ordered: Record<string, CallTotals> = agents.main ? { main: agents.main } : {};
  for (const [agent, u] of Object.entries(agents)) if (agent !== "main") ordered[agent] = u;
  return { total, agents: ordered };
}

/** "total: 12 model calls (main 5, researcher 7), 1 m 23 s with the model, 45,678 in / 2,345 out tokens". */
export function formatCallTotal(sum: { total: CallTotals; agents: Record<string, CallTotals> }): string {
  const { total, agents } = sum;
  if (total.calls === 0) return "total: no model calls";
  const names = Object.keys(agents);
  const per = names.length > 1 ? ` (${names.map((a) => `${a} ${formatCount(agents[a]!.calls)}`).join(", ")})` : names[0] && names[0] !== "main" ? ` (${names[0]})` : "";
  return `total: ${plural(total.calls, "model call")}${per}, ${formatDuration(total.latencyMs)} with the model, ${describeTokens(total)}`;
}

/** "worker w-1 on host-a (pid 12)" from a `RunnerInfo`-shaped value. */
function runnerText(v: unknown): string {
  const r = (v ?? {}) as Record<string, unknown>;
  return `${str(r.kind) ?? "runner"} ${str(r.id) ?? "?"} on ${str(r.host) ?? "?"} (pid ${num(r.pid)})`;
}

/** One plain line per event, for `vibewriter events` without --json. */
export function formatEvent(e: VibewriterEvent): string {
  const time = e.at.length >= 19 ? e.at.slice(11, 19) : e.at;
  const who = e.agent === "main" ? "" : ` [${e.agent}]`;
  let what = "";
  switch (e.type) {
    case "todos.updated": {
      const todos = todosOf(dataOf(e)) ?? [];
      what = todos.map((t) => `${t.status === "completed" ? "✓" : t.status === "in_progress" ? "▸" : "·"} ${t.content}`).join("; ");
      break;
    }
    case "tool.started":
    case "tool.finished":
      what = `${toolName(e)}${str(dataOf(e).callId) ? ` (${str(dataOf(e).callId)})` : ""}${
        e.type === "tool.finished" && dataOf(e).status === "error" ? ` error: ${clip(str(dataOf(e).output) ?? "", 160)}` : ""
      }${dataOf(e).replayed === true ? " (replayed from the effect journal)" : ""}`;
      break;
    case "model.started":
      what = str(dataOf(e).model) ?? "";
      break;
    case "model.call": {
      const d = dataOf(e);
      const u = addCall(noCalls(), d);
      const extra = [
        ...(typeof d.toolCalls === "number" ? [plural(d.toolCalls, "tool call")] : []),
        ...(num(d.malformed) ? [`${formatCount(num(d.malformed))} malformed`] : []),
        ...(num(d.renamedToolCallIds) ? [`${plural(num(d.renamedToolCallIds), "call id")} renamed`] : []),
      ];
      what = `${str(d.model) ?? "model"} ${formatDuration(u.latencyMs)}, ${describeTokens(u)}${extra.length ? `, ${extra.join(", ")}` : ""}`;
      break;
    }
    case "run.finished": {
      const d = dataOf(e);
      const status = str(d.status);
      what = status
        ? `${status}${str(d.reason) ? `: ${clip(str(d.reason)!, 200)}` : ""}${str(d.report) ? ` (report ${str(d.report)})` : ""}`
        : "";
      break;
    }
    case "run.failed":
      what = firstLine(str(dataOf(e).message) ?? str(dataOf(e).error) ?? "");
      break;
    case "run.queued": {
      // "run by submit: <task>" / "resume by cli:owner": what a worker will pick up, and who asked.
      const d = dataOf(e);
      what = `${str(d.kind) ?? "run"}${str(d.by) ? ` by ${str(d.by)}` : ""}${str(d.task) ? `: ${clip(str(d.task)!, 160)}` : ""}`;
      break;
    }
    case "lease.taken_over": {
      // "from worker w-1 on host-a (pid 12), silent 7.2 s, by worker w-2 on host-b (pid 34)".
      const d = dataOf(e);
      what = `from ${runnerText(d.from)}, silent ${formatDuration(num(d.silentMs))}, by ${runnerText(d.by)}`;
      break;
    }
    case "child.submitted":
      what = `${str(dataOf(e).child) ?? "?"}: ${clip(str(dataOf(e).question) ?? "", 160)}`;
      break;
    case "child.finished": {
      const d = dataOf(e);
      what = `${str(d.child) ?? "?"} ${str(d.status) ?? ""}${str(d.source) ? ` (source ${str(d.source)})` : ""}${str(d.reason) ? `: ${clip(str(d.reason)!, 160)}` : ""}`;
      break;
    }
    case "delegated.from":
      what = `by ${str(dataOf(e).parent) ?? "?"}: ${clip(str(dataOf(e).question) ?? "", 160)}`;
      break;
    default: {
      const summary = JSON.stringify(dataOf(e));
      what = summary === "{}" ? "" : clip(summary, 200);
    }
  }
  return `${time} ${e.type}${who}${what ? ` ${what}` : ""}`;
}
