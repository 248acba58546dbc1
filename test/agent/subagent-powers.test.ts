import { EventType } from "../../src/nats/event-types.ts";
import { createScriptedModel } from "../../src/agent/scripted-model.ts";
import { SAMPLES_DIR } from "../../src/agent/samples.ts";
import { SUBAGENT_POWERS } from "../../src/agent/subagents.ts";
import { createVibewriter } from "../../src/agent/vibewriter.ts";
import { sandboxText, startAgentWorld, type AgentWorld } from "./support/harness.ts";

let world: AgentWorld;
beforeAll(async () => {
  world = await startAgentWorld();
});
afterAll(async () => {
  await world?.close();
});

it("each subagent is bound only to its own tools and is refused anything else", async () => {
  const model = createScriptedModel({
    main: ({ turn }) =>
      [
        [{ name: "task", args: { subagent_type: "verifier", description: "Try to overstep." } }],
        [{ name: "task", args: { subagent_type: "researcher", description: "Write a note, and try to write the report." } }],
        [{ name: "task", args: { subagent_type: "publisher", description: "Try to run a command." } }],
        [{ name: "task", args: { subagent_type: "general-purpose", description: "Try to write." } }],
        { text: "done" },
      ][turn],
    verifier: ({ turn, results }) =>
      [
        [
          { name: "write_file", args: { file_path: "/workspace/report.md", content: "forged" } },
          { name: "execute", args: { command: "echo pwned > /workspace/pwned" } },
          { name: "publish_report", args: { path: "/workspace/report.md" } },
        ],
        { text: results.join("\n---\n") },
      ][turn],
    researcher: ({ turn, results }) =>
      [
        [
          { name: "write_file", args: { file_path: "/workspace/notes/n1.md", content: "a note" } },
          { name: "write_file", args: { file_path: "/workspace/report.md", content: "forged" } },
          { name: "write_file", args: { file_path: "/workspace/notes/../report.md", content: "forged" } },
        ],
        { text: results.join("\n---\n") },
      ][turn],
    publisher: ({ turn, results }) => [[{ name: "execute", args: { command: "echo pwned > /workspace/pwned2" } }], { text: results.join("\n---\n") }][turn],
    "general-purpose": ({ turn, results }) =>
      [[{ name: "write_file", args: { file_path: "/workspace/gp.md", content: "x" } }], { text: results.join("\n---\n") }][turn],
  });
  const sandbox = await world.sandbox("powers");
  const vw = await createVibewriter({ backbone: world.backbone, threadId: "powers", model, sandbox, sourcesDir: SAMPLES_DIR });
  await vw.run("Test the subagents' powers.");

  // Bound tools: exactly the powers table (this run has no network and no Choir).
  const bound = model.boundTools;
  for (const role of ["verifier", "researcher", "publisher", "general-purpose"] as const) {
    const tools = bound.get(role)!;
    const hostTools: readonly string[] = SUBAGENT_POWERS[role].hostTools;
    const expected = new Set<string>([...SUBAGENT_POWERS[role].fs, ...hostTools.filter((t) => t === "check_citations" || t === "publish_report")]);
    expect([...tools].sort()).toEqual([...expected].sort());
  }
  expect(bound.get("verifier")!.has("execute")).toBe(false);
  expect(bound.get("verifier")!.has("write_file")).toBe(false);
  expect(bound.get("publisher")!.has("execute")).toBe(false);
  expect(bound.get("researcher")!.has("publish_report")).toBe(false);
  expect(bound.get("main")!.has("publish_report")).toBe(false);

  // What each subagent got back when it overstepped.
  const events = await world.backbone.events.history("powers");
  const ends = events.filter((e) => e.type === EventType.ToolFinished);
  const outcome = (agent: string, tool: string) => ends.filter((e) => e.agent === agent && e.data.tool === tool).sort((a, b) => String(a.data.callId).localeCompare(String(b.data.callId))).map((e) => [e.data.status, String(e.data.output)]);
  expect(outcome("verifier", "write_file")).toEqual([["error", expect.stringContaining('the verifier may not use the tool "write_file"')]]);
  expect(outcome("verifier", "execute")).toEqual([["error", expect.stringContaining('the verifier may not use the tool "execute"')]]);
  expect(outcome("verifier", "publish_report")).toEqual([["error", expect.stringContaining('may not use the tool "publish_report"')]]);
  expect(outcome("publisher", "execute")).toEqual([["error", expect.stringContaining('the publisher may not use the tool "execute"')]]);
  expect(outcome("general-purpose", "write_file")[0]![0]).toBe("error");
  const researcherWrites = outcome("researcher", "write_file"); // in call order (parallel calls finish in any order)
  expect(researcherWrites[0]![0]).toBe("ok");
  expect(researcherWrites[1]).toEqual(["error", expect.stringContaining("may write only under /workspace/notes/, /workspace/dd/")]);
  expect(researcherWrites[2]![0]).toBe("error");

  // And nothing reached the sandbox.
  expect(await sandboxText(sandbox, "/workspace/notes/n1.md")).toBe("a note");
  for (const f of ["/workspace/report.md", "/workspace/pwned", "/workspace/pwned2", "/workspace/gp.md"]) expect(await sandboxText(sandbox, f)).toBeNull();
  expect(ends.filter((e) => e.data.tool === "execute" && e.data.status === "ok")).toEqual([]);
  expect(await world.backbone.blobs.get("threads/powers/report.md")).toBeNull();
  await vw.close();
});
