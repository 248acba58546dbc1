/**
 * The agent tree of a thread, from its events: the main agent first, each subagent nested under
 * the `task` call that started it, each with its tool calls (clipped arguments and results) in
 * order. Subagent events name the subagent's type, not its call: a tool call goes to the most
 * recent still-running subagent of that type (the one that can be calling tools), else the most
 * recent one of that type.
 */
import { EventType, type VibewriterEvent } from "../nats/index.ts";
import type { AgentNode, NodeStatus, ToolCallView } from "./api-types.ts";

const CLIP = 2_000;

function clipJson(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  let text: string;
  try {
    text = typeof v === "string" ? v : (JSON.stringify(v) ?? String(v));
  } catch {
    text = String(v);
  }
  return text.length <= CLIP ? text : text.slice(0, CLIP - 1) + "…";
}

const statusOf = (s: unknown): NodeStatus => (s === "error" ? "error" : "ok");

/** `mainStatus`: the main agent's, from the thread's status (running while it runs or waits). */
export function agentTree(events: readonly VibewriterEvent[], mainStatus: NodeStatus): AgentNode[] {
  const main: AgentNode = { name: "main", status: mainStatus, tools: [], children: [] };
  const subagents: AgentNode[] = []; // in order of start
  const byCall = new Map<string, AgentNode>();
  const calls = new Map<string, ToolCallView>(); // `${agent}\n${callId}`

  const nodeFor = (agent: string): AgentNode => {
    if (agent === "main" || agent === "") return main;
    const same = subagents.filter((n) => n.name === agent);
    const found = same.findLast((n) => n.status === "running") ?? same.at(-1);
    if (found) return found;
    // A subagent seen before its hand-off (an older log): kept, under main.
    const orphan: AgentNode = { name: agent, status: "running", tools: [], children: [] };
    subagents.push(orphan);
    main.children.push(orphan);
    return orphan;
  };

  for (const e of events) {
    if (e.type === EventType.ToolStarted) {
      const key = `${e.agent}\n${e.data.callId}`;
      if (calls.has(key)) continue;
      const args = clipJson(e.data.args);
      const call: ToolCallView = { callId: e.data.callId, tool: e.data.tool, ...(args !== undefined ? { args } : {}), status: "running" };
      calls.set(key, call);
      nodeFor(e.agent).tools.push(call);
    } else if (e.type === EventType.ToolFinished) {
      const key = `${e.agent}\n${e.data.callId}`;
      let call = calls.get(key);
      if (!call) {
        call = { callId: e.data.callId, tool: e.data.tool, status: "running" };
        calls.set(key, call);
        nodeFor(e.agent).tools.push(call);
      }
      call.status = statusOf(e.data.status);
      const output = clipJson(e.data.output);
      if (output !== undefined) call.output = output;
    } else if (e.type === EventType.SubagentStarted) {
      if (byCall.has(e.data.callId)) continue;
      const description = clipJson(e.data.description);
      const node: AgentNode = { name: e.data.subagent, callId: e.data.callId, status: "running", ...(description ? { description } : {}), tools: [], children: [] };
      const parent = nodeFor(e.agent);
      byCall.set(e.data.callId, node);
      subagents.push(node);
      parent.children.push(node);
    } else if (e.type === EventType.SubagentFinished) {
      const node = byCall.get(e.data.callId);
      if (node) node.status = statusOf(e.data.status);
    }
  }
  return [main];
}
