/**
 * Turns a run's events into what a person sees: a status line (current todo, subagent, tool) and
 * permanent lines for the steps worth keeping (todo done, subagent hand-off, file written, report).
 * Pure: the same events give the same output; `run`, `resume`, `demo` and `events` share it.
 */
import type { VibewriterEvent } from "../nats/event-types.ts";

/** The event's data read defensively: the log may hold events written by an older version. */
const dataOf = (e: VibewriterEvent): Record<string, unknown> => (e.data ?? {}) as Record<string, unknown>;

export interface Todo {
  content: string;
  status: string;
}

export interface ProgressState {
  todos: Todo[];
  /** Subagents currently working, innermost last. */
  agents: string[];
  /** The tool each agent is running now, by agent name ("main" or a subagent). */
  tools: Record<string, string>;
  finished: boolean;
}

export const initialProgress = (): ProgressState => ({ todos: [], agents: [], tools: {}, finished: false });

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

/** Applies one event; returns the new state and the permanent lines it produced. */
export function applyEvent(state: ProgressState, e: VibewriterEvent): { state: ProgressState; lines: string[] } {
  const s: ProgressState = { ...state, todos: [...state.todos], agents: [...state.agents], tools: { ...state.tools } };
  const lines: string[] = [];
  switch (e.type) {
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
      lines.push(`→ ${subagentName(e)}${str(dataOf(e).description) ? `: ${clip(str(dataOf(e).description)!, 100)}` : ""}`);
      break;
    case "subagent.finished": {
      const name = subagentName(e);
      const i = s.agents.lastIndexOf(name);
      if (i >= 0) s.agents.splice(i, 1);
      else s.agents.pop();
      lines.push(`← ${name} done`);
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
    case "run.finished":
      s.finished = true;
      s.tools = {};
      s.agents = [];
      lines.push("run finished");
      break;
    case "run.failed":
      s.finished = true;
      lines.push(`run failed: ${str(dataOf(e).message) ?? str(dataOf(e).error) ?? "unknown error"}`);
      break;
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

/**
 * The one-line status: "[2/5] researcher · execute — Research the filings". Who and what come
 * before the todo, so a narrow terminal that cuts the line keeps the part that changes.
 */
export function statusLine(s: ProgressState): string {
  const done = s.todos.filter((t) => t.status === "completed").length;
  const current = s.todos.find((t) => t.status === "in_progress") ?? s.todos.find((t) => t.status === "pending");
  const tool = (s.agents.length > 0 ? s.tools[s.agents.at(-1)!] : undefined) ?? s.tools.main;
  const doing = [...(s.agents.length > 0 ? [s.agents.join(" › ")] : []), ...(tool ? [tool] : [])].join(" · ");
  if (s.todos.length === 0) return [s.finished ? "finished" : "planning…", doing].filter(Boolean).join(" · ");
  const todo = current ? current.content : "all todos done";
  return `[${done}/${s.todos.length}] ${doing ? `${doing} — ` : ""}${todo}`;
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
    default: {
      const summary = JSON.stringify(dataOf(e));
      what = summary === "{}" ? "" : clip(summary, 200);
    }
  }
  return `${time} ${e.type}${who}${what ? ` ${what}` : ""}`;
}
