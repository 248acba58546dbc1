import { AIMessage, ToolMessage } from "@langchain/core/messages";
import { Command, isGraphBubbleUp } from "@langchain/langgraph";
import { createMiddleware } from "langchain";
import { EventType, type TodoItem, ToolStatus } from "../../nats/index.ts";
import { summarise, type EmitEvent } from "../events.ts";

const WRITE_TOOLS = new Set(["write_file", "edit_file"]);

function toolMessageOf(result: unknown): ToolMessage | undefined {
  if (ToolMessage.isInstance(result as ToolMessage)) return result as ToolMessage;
  if (result instanceof Command) {
    const msgs = (result.update as { messages?: unknown[] } | undefined)?.messages;
    const last = Array.isArray(msgs) ? msgs.findLast((m) => ToolMessage.isInstance(m as ToolMessage)) : undefined;
    return last as ToolMessage | undefined;
  }
  return undefined;
}

/** The todo list as the event carries it: well-formed items only, text clipped and redacted. */
function todosOf(raw: unknown): TodoItem[] {
  if (!Array.isArray(raw)) return [];
  return raw.slice(0, 100).flatMap((t) => {
    const o = t as { content?: unknown; status?: unknown } | null;
    if (typeof o?.content !== "string") return [];
    return [{ content: summarise(o.content) as string, status: typeof o.status === "string" ? o.status : "pending" }];
  });
}

function textOf(msg: { content: unknown } | undefined): string {
  if (!msg) return "";
  if (typeof msg.content === "string") return msg.content;
  if (Array.isArray(msg.content)) return msg.content.map((b: { text?: string }) => b.text ?? "").join("");
  return "";
}

/**
 * Publishes what one agent (the main agent or a subagent) does, as it happens: every model turn,
 * tool call start and end, todo-list change, file write and subagent hand-off. (Malformed tool
 * calls are answered by the tool-error middleware; see model-calls.ts.)
 */
export function createEventMiddleware(options: { agent: string; emit: EmitEvent }) {
  const { agent, emit } = options;
  return createMiddleware({
    name: `VibewriterEvents`,
    afterModel: {
      hook: async (state) => {
        const last = state.messages.at(-1);
        if (!last || !AIMessage.isInstance(last)) return;
        const ai = last as AIMessage;
        const calls = ai.tool_calls ?? [];
        const key = ai.id ?? `${state.messages.length}`;
        await emit({
          id: `${agent}:model:${key}`,
          type: EventType.ModelTurn,
          agent,
          data: { toolCalls: calls.map((c) => ({ name: c.name, ...(c.id ? { id: c.id } : {}) })), text: summarise(textOf(ai)) },
        });
      },
    },
    wrapToolCall: async (request, handler) => {
      const call = request.toolCall;
      const callId = call.id ?? "no-id";
      const name = call.name;
      const args = (call.args ?? {}) as Record<string, unknown>;
      await emit({ id: `${agent}:${callId}:start`, type: EventType.ToolStarted, agent, data: { tool: name, callId, args: summarise(args) } });
      if (name === "write_todos") {
        await emit({ id: `${agent}:${callId}:todos`, type: EventType.TodosUpdated, agent, data: { todos: todosOf(args.todos) } });
      }
      if (name === "task") {
        await emit({
          id: `${agent}:${callId}:handoff`,
          type: EventType.SubagentStarted,
          agent,
          data: { subagent: String(args.subagent_type ?? "unknown"), description: summarise(args.description), callId },
        });
      }
      let result: ToolMessage | Command;
      try {
        result = await handler(request);
      } catch (err) {
        // A pause (an interrupt) is no end: the call runs again on resume, and its end is logged then.
        if (isGraphBubbleUp(err)) throw err;
        await emit({
          id: `${agent}:${callId}:end`,
          type: EventType.ToolFinished,
          agent,
          data: { tool: name, callId, status: ToolStatus.Error, output: summarise((err as Error).message ?? String(err)) },
        });
        throw err;
      }
      const msg = toolMessageOf(result);
      const output = textOf(msg);
      const failed = msg?.status === "error" || /^Error\b/.test(output);
      await emit({
        id: `${agent}:${callId}:end`,
        type: EventType.ToolFinished,
        agent,
        data: { tool: name, callId, status: failed ? ToolStatus.Error : ToolStatus.Ok, output: summarise(output), ...(msg?.additional_kwargs?.vibewriter_replayed ? { replayed: true } : {}) },
      });
      if (WRITE_TOOLS.has(name) && !failed && typeof args.file_path === "string") {
        await emit({ id: `${agent}:${callId}:file`, type: EventType.FileWritten, agent, data: { path: args.file_path, tool: name } });
      }
      if (name === "task") {
        await emit({
          id: `${agent}:${callId}:handback`,
          type: EventType.SubagentFinished,
          agent,
          data: { subagent: String(args.subagent_type ?? "unknown"), callId, status: failed ? ToolStatus.Error : ToolStatus.Ok, result: summarise(output) },
        });
      }
      return result;
    },
  });
}
