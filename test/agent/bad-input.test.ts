import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AIMessage } from "@langchain/core/messages";
import { AgentError, AgentErrorCode } from "../../src/agent/errors.ts";
import { EventType, eventOf } from "../../src/nats/event-types.ts";
import { createScriptedModel } from "../../src/agent/scripted-model.ts";
import { SAMPLES_DIR } from "../../src/agent/samples.ts";
import { showThread } from "../../src/agent/threads.ts";
import { createVibewriter } from "../../src/agent/vibewriter.ts";
import { startAgentWorld, type AgentWorld } from "./support/harness.ts";

let world: AgentWorld;
let dir: string;
beforeAll(async () => {
  world = await startAgentWorld();
});
afterAll(async () => {
  await world?.close();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "vw-bad-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejection(p: Promise<unknown>): Promise<AgentError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(AgentError);
  return err as AgentError;
}

const idle = () => createScriptedModel({ main: () => ({ text: "nothing to do" }) });

describe("bad input", () => {
  it("an unknown thread id: show and resume say so; an invalid id is refused", async () => {
    const show = await rejection(showThread(world.backbone, "no-such-thread"));
    expect(show.code).toBe(AgentErrorCode.UnknownThread);
    expect(show.message).toContain('unknown thread "no-such-thread"');

    const vw = await createVibewriter({ backbone: world.backbone, threadId: "never-ran", model: idle(), sandbox: await world.sandbox("x") });
    const resume = await rejection(vw.resume());
    expect(resume.code).toBe(AgentErrorCode.UnknownThread);
    expect(resume.message).toContain("never-ran");

    const bad = await rejection(createVibewriter({ backbone: world.backbone, threadId: "../etc passwd", model: idle(), sandbox: await world.sandbox("x") }));
    expect(bad.code).toBe(AgentErrorCode.InvalidThreadId);
    expect((await rejection(showThread(world.backbone, "a.b"))).code).toBe(AgentErrorCode.InvalidThreadId);
  });

  it("a sources folder with a binary or huge file is refused before anything is stored", async () => {
    await writeFile(join(dir, "notes.md"), "# Notes\nfine");
    await writeFile(join(dir, "blob.bin"), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0]));
    const sandbox = await world.sandbox("src");
    const err = await rejection(createVibewriter({ backbone: world.backbone, threadId: "bad-sources", model: idle(), sandbox, sourcesDir: dir }));
    expect(err.code).toBe(AgentErrorCode.BadSource);
    expect(err.message).toContain("blob.bin: refused, binary content");
    expect(await world.backbone.blobs.list("threads/bad-sources/")).toEqual([]);
    expect(await world.backbone.events.history("bad-sources")).toEqual([]);
  });

  it("a malformed SKILL.md is skipped with a warning event; the good skills still load", async () => {
    await mkdir(join(dir, "broken-skill"));
    await writeFile(join(dir, "broken-skill", "SKILL.md"), "---\nname: broken-skill\n---\nno description\n");
    await mkdir(join(dir, "my-skill"));
    await writeFile(join(dir, "my-skill", "SKILL.md"), "---\nname: my-skill\ndescription: Mine.\n---\n# Mine\n");
    const model = createScriptedModel({
      // The skills folder, as the system prompt names it (the sandbox decides where it is).
      main: ({ turn, system }) => [[{ name: "ls", args: { path: /skills under (\S+),/.exec(system)![1]! } }], { text: "listed" }][turn],
    });
    const vw = await createVibewriter({ backbone: world.backbone, threadId: "skills-bad", model, sandbox: await world.sandbox("s"), skillDirs: [dir] });
    const result = await vw.run("list skills");
    expect(result.status).toBe("completed");
    const events = await world.backbone.events.history("skills-bad");
    const skipped = events.filter((e) => e.type === EventType.SkillSkipped);
    expect(skipped).toHaveLength(1);
    expect(String(skipped[0]!.data.message)).toMatch(/broken-skill\/SKILL\.md: frontmatter has no 'description'/);
    const loaded = events.filter((e) => e.type === EventType.SkillLoaded).map((e) => e.data.name).sort();
    expect(loaded).toEqual(["citation-ready-report", "financial-due-diligence", "my-skill"]);
    const ls = events.filter(eventOf(EventType.ToolFinished)).find((e) => e.data.tool === "ls")!;
    expect(String(ls.data.output)).toContain("my-skill");
    expect(String(ls.data.output)).not.toContain("broken-skill");
  });

  it("a malformed tool call gets a clear message back to the model, and the run goes on", async () => {
    const model = createScriptedModel({
      main: ({ turn, results, task }) => {
        if (turn === 0) {
          return {
            message: (id) =>
              new AIMessage({
                id,
                content: "",
                invalid_tool_calls: [{ id: `${id}-0`, name: "write_file", args: '{"file_path": "/workspace/a.md", "content": ', error: "Unexpected end of JSON input", type: "invalid_tool_call" }],
              }),
          };
        }
        if (turn === 1) return [{ name: "write_file", args: { file_path: 42 } }]; // wrong argument types
        if (turn === 2) return [{ name: "no_such_tool", args: {} }];
        if (turn === 3) return [{ name: "write_file", args: { file_path: "/workspace/a.md", content: "fixed" } }];
        return { text: `done after: ${results.length} tool results; task=${task.length}` };
      },
    });
    const sandbox = await world.sandbox("m");
    const vw = await createVibewriter({ backbone: world.backbone, threadId: "malformed", model, sandbox, sourcesDir: SAMPLES_DIR });
    const result = await vw.run("write a.md");
    expect(result.status).toBe("completed");
    expect(result.finalMessage).toContain("done after: 4 tool results");
    const events = await world.backbone.events.history("malformed");
    const warning = events.filter(eventOf(EventType.Warning)).find((e) => e.data.message.includes("malformed"))!;
    expect(String(warning.data.message)).toBe("the model sent a malformed call to write_file: its arguments are not valid JSON (Unexpected end of JSON input)");
    const ends = events.filter((e) => e.type === EventType.ToolFinished);
    expect(ends.map((e) => [e.data.tool, e.data.status])).toEqual([
      ["write_file", "error"], // answered: "could not be read … send the call again"
      ["write_file", "error"],
      ["no_such_tool", "error"],
      ["write_file", "ok"],
    ]);
    expect(String(ends[0]!.data.output)).toMatch(/could not be read: its arguments are not valid JSON/);
    expect(String(ends[1]!.data.output)).toMatch(/file_path|expected string/i);
    // State intact: the thread shows its files and the model saw the feedback message.
    const shown = await showThread(world.backbone, "malformed");
    expect(shown.files).toEqual(["/workspace/a.md"]);
    expect(shown.status).toBe("completed");
  });
});
