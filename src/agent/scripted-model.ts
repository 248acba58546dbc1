import { createHash } from "node:crypto";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";

/** One scripted turn: tool calls to make, a final text, or a raw message (e.g. a malformed call). */
export type ScriptedStep = Array<{ name: string; args: Record<string, unknown> }> | { text: string } | { message: (id: string) => AIMessage };

/** What a script sees: its turn number (AI messages so far) and the text of every tool result so far. */
export interface ScriptContext {
  turn: number;
  results: string[];
  /** The first human message (the task or the subagent's instructions). */
  task: string;
  /** The system prompt the agent was given. */
  system: string;
}
export type AgentScript = (ctx: ScriptContext) => ScriptedStep | undefined;

export function messageText(m: BaseMessage): string {
  if (typeof m.content === "string") return m.content;
  if (Array.isArray(m.content)) return m.content.map((b) => ((b as { text?: string }).text ?? "")).join("");
  return "";
}

/** The agent a model call belongs to: the `ROLE:<name>` line of its system prompt (`main` if none). */
export function roleOf(messages: BaseMessage[]): string {
  const sys = messages.find((m) => SystemMessage.isInstance(m));
  return /ROLE:([a-z-]+)/.exec(sys ? messageText(sys) : "")?.[1] ?? "main";
}

/**
 * A scripted chat model (`fakeModel()` underneath) that serves several agents at once. Each call
 * picks the script of the calling agent by its `ROLE:` line and the step by how many AI messages
 * that agent's conversation already holds — never by a call counter — and derives message and
 * tool-call ids from (role, task, turn). So a fresh model in a fresh process resumes a crashed
 * run at the right step with the same ids, and two subagent runs never share ids.
 */
export interface ScriptedModel extends BaseChatModel {
  /**
   * Tool names each agent's calls were bound to (from the `bindTools` that precedes each call;
   * exact when agents run one at a time, as in tests).
   */
  readonly boundTools: Map<string, Set<string>>;
}

export function createScriptedModel(scripts: Record<string, AgentScript>, options: { label?: string; maxCalls?: number } = {}): ScriptedModel {
  const label = options.label ?? "[scripted model]";
  const boundTools = new Map<string, Set<string>>();
  let lastBound: string[] = [];
  const respond = (messages: BaseMessage[]): BaseMessage | Error => {
    const role = roleOf(messages);
    boundTools.set(role, new Set([...(boundTools.get(role) ?? []), ...lastBound]));
    const script = scripts[role];
    if (!script) return new Error(`${label} has no script for the ${role} agent`);
    const turn = messages.filter((m) => AIMessage.isInstance(m)).length;
    const results = messages.filter((m) => ToolMessage.isInstance(m)).map(messageText);
    const first = messages.find((m) => HumanMessage.isInstance(m));
    const task = first ? messageText(first) : "";
    const scope = createHash("sha256").update(`${role}\n${task}`).digest("hex").slice(0, 10);
    const id = `${role}-${scope}-${turn}`;
    const sys = messages.find((m) => SystemMessage.isInstance(m));
    const step = script({ turn, results, task, system: sys ? messageText(sys) : "" });
    if (!step) return new AIMessage({ id, content: `${label} The script for the ${role} agent is finished.` });
    if ("text" in step) return new AIMessage({ id, content: step.text });
    if ("message" in step) return step.message(id);
    return new AIMessage({
      id,
      content: "",
      tool_calls: step.map((c, i) => ({ id: `${id}-${i}`, name: c.name, args: c.args, type: "tool_call" as const })),
    });
  };
  const model = fakeModel();
  for (let i = 0; i < (options.maxCalls ?? 400); i++) model.respond(respond);
  const bind = model.bindTools.bind(model);
  model.bindTools = (tools) => {
    lastBound = tools.map((t) => (t as { name?: string }).name ?? "?");
    return bind(tools);
  };
  return Object.assign(model, { boundTools });
}
