import { Keypair } from "@stellar/stellar-sdk";
import { Choir } from "../../src/choir/choir.ts";
import { EventType } from "../../src/nats/event-types.ts";
import { createScriptedModel } from "../../src/agent/scripted-model.ts";
import { SAMPLES_DIR } from "../../src/agent/samples.ts";
import { sourceIdFor } from "../../src/agent/sources.ts";
import { createVibewriter } from "../../src/agent/vibewriter.ts";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { startAgentWorld, type AgentWorld } from "./support/harness.ts";
import { Names } from "../../src/nats/streams.ts";

let world: AgentWorld;
beforeAll(async () => {
  world = await startAgentWorld();
});
afterAll(async () => {
  await world?.close();
});

it("the Choir tools: main searches, only the publisher publishes, after the citation check", async () => {
  const choir = await Choir.open(world.nats.backbone, {
    names: { stream: "TEST_AGENT_CHOIR", subjects: Names.choirSubjects, reportsBucket: "TEST_AGENT_CHOIR_REPORTS", bodiesBucket: "TEST_AGENT_CHOIR_BODIES" },
  });
  const author = Keypair.random().publicKey();
  const annual = sourceIdFor(new Uint8Array(await readFile(join(SAMPLES_DIR, "annual-report-2025.md"))));
  const report = `# Northwind cash\n\n- Cash was thin at year end. [[src:${annual}|"At year end the company held $3.9 million in cash and cash equivalents."]]\n`;
  const model = createScriptedModel({
    main: ({ turn, results }) =>
      [
        [{ name: "search_choir_kb", args: { query: "Northwind" } }],
        [{ name: "publish_to_choir", args: { title: "forged by main", body: "x" } }],
        [{ name: "task", args: { subagent_type: "publisher", description: "Publish the report." } }],
        { text: results.join("\n") },
      ][turn],
    publisher: ({ turn, results }) =>
      [
        [{ name: "publish_to_choir", args: { title: "Uncited", body: "Northwind is doing great." } }],
        [{ name: "write_file", args: { file_path: "/workspace/report.md", content: report } }],
        [{ name: "publish_report", args: { path: "/workspace/report.md" } }],
        [{ name: "publish_to_choir", args: { title: "Northwind cash", path: "/workspace/report.md" } }],
        { text: results.at(-1)! },
      ][turn],
  });
  const vw = await createVibewriter({
    backbone: world.backbone,
    threadId: "choir",
    model,
    sandbox: await world.sandbox("choir"),
    sourcesDir: SAMPLES_DIR,
    choir: { choir, author },
  });
  const result = await vw.run("publish to the choir");
  expect(model.boundTools.get("main")).toEqual(expect.any(Set));
  expect([...model.boundTools.get("main")!]).toEqual(expect.arrayContaining(["search_choir_kb", "cite_article"]));
  expect([...model.boundTools.get("main")!]).not.toContain("publish_to_choir");
  expect([...model.boundTools.get("publisher")!]).toEqual(expect.arrayContaining(["publish_report", "publish_to_choir"]));

  const events = await world.backbone.events.history("choir");
  const ends = events.filter((e) => e.type === EventType.ToolFinished);
  expect(String(ends.find((e) => e.data.tool === "search_choir_kb")!.data.output)).toContain("No published Choir report");
  expect(ends.find((e) => e.agent === "main" && e.data.tool === "publish_to_choir")!.data.status).toBe("error");
  const pubs = ends.filter((e) => e.agent === "publisher" && e.data.tool === "publish_to_choir");
  expect(String(pubs[0]!.data.output)).toContain("refused to publish to the Choir");
  expect(result.finalMessage).toMatch(/Published to the Choir as r-[a-f0-9]{20}/);
  const published = await choir.list();
  expect(published.map((r) => [r.title, r.author])).toEqual([["Northwind cash", author]]);
});
