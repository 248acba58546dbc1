/** The console's agent tree from a thread's events (pure): nesting by task call, tool status, clipping. */
import { EventType, type VibewriterEvent } from "../../src/nats/event-types.ts";
import { agentTree } from "../../src/web/agent-tree.ts";

let n = 0;
const ev = (type: string, data: Record<string, unknown>, agent = "main") =>
  ({ id: `e${n++}`, type, agent, threadId: "t", at: new Date(0).toISOString(), data }) as unknown as VibewriterEvent;

describe("agentTree", () => {
  it("nests two subagents of one type under their own task calls, each with its own tool calls", () => {
    const tree = agentTree(
      [
        ev(EventType.ToolStarted, { tool: "task", callId: "t1", args: { subagent_type: "researcher" } }),
        ev(EventType.SubagentStarted, { subagent: "researcher", callId: "t1", description: "first" }),
        ev(EventType.ToolStarted, { tool: "grep", callId: "g1" }, "researcher"),
        ev(EventType.ToolFinished, { tool: "grep", callId: "g1", status: "ok", output: "3 hits" }, "researcher"),
        ev(EventType.SubagentFinished, { subagent: "researcher", callId: "t1", status: "ok" }),
        ev(EventType.ToolFinished, { tool: "task", callId: "t1", status: "ok" }),
        ev(EventType.ToolStarted, { tool: "task", callId: "t2", args: { subagent_type: "researcher" } }),
        ev(EventType.SubagentStarted, { subagent: "researcher", callId: "t2", description: "second" }),
        ev(EventType.ToolStarted, { tool: "read_file", callId: "f1" }, "researcher"),
      ],
      "running",
    );
    expect(tree).toHaveLength(1);
    const [main] = tree;
    expect(main!.tools.map((t) => [t.callId, t.status])).toEqual([["t1", "ok"], ["t2", "running"]]);
    expect(main!.children.map((c) => [c.callId, c.description, c.status, c.tools.map((t) => `${t.tool}:${t.status}`)])).toEqual([
      ["t1", "first", "ok", ["grep:ok"]],
      ["t2", "second", "running", ["read_file:running"]],
    ]);
  });

  it("clips huge arguments and outputs, keeps a subagent seen without its hand-off, and counts a replayed start once", () => {
    const huge = "x".repeat(10_000);
    const tree = agentTree(
      [
        ev(EventType.ToolStarted, { tool: "write_file", callId: "w1", args: { content: huge } }),
        ev(EventType.ToolStarted, { tool: "write_file", callId: "w1", args: { content: huge } }),
        ev(EventType.ToolFinished, { tool: "write_file", callId: "w1", status: "error", output: huge }),
        ev(EventType.ToolStarted, { tool: "ls", callId: "l1" }, "verifier"),
      ],
      "error",
    );
    const [main] = tree;
    expect(main!.status).toBe("error");
    expect(main!.tools).toHaveLength(1);
    expect(main!.tools[0]!.args!.length).toBe(2_000);
    expect(main!.tools[0]!.output!.endsWith("…")).toBe(true);
    expect(main!.tools[0]!.status).toBe("error");
    expect(main!.children).toEqual([{ name: "verifier", status: "running", tools: [{ callId: "l1", tool: "ls", status: "running" }], children: [] }]);
  });
});
