/**
 * `vibewriter export` against a real nats-server, on a thread stored the way a run stores it:
 * sources through `storeSources`, the report through the real `publish_report` tool (which checks
 * every citation and emits `report.published`), the run's start and end events.
 */
import { ThreadSources } from "../../src/agent/thread-sources.ts";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { BackendProtocolV2 } from "deepagents";
import { createEmitter } from "../../src/agent/emitter.ts";
import type { AgentBackbone } from "../../src/agent/ports.ts";
import { storeSources } from "../../src/agent/sources.ts";
import { createPublishReportTool, REPORT_ARTIFACT } from "../../src/agent/tools/publish.ts";
import { provisionLayout } from "../../src/app/backbone.ts";
import { main } from "../../src/cli/main.ts";
import { parseCommandLine } from "../../src/cli/parse.ts";
import { NatsRole } from "../../src/nats/auth.ts";
import { openBackbone } from "../../src/nats/backbone.ts";
import { EventType } from "../../src/nats/event-types.ts";
import { northwindReport, northwindSources } from "../export/fixture.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";
import { captureIo } from "./capture.ts";

const THREAD = "export-nw";
/** A real browser under load (the VM lane beside this one) takes 5–15 s; its own deadline is 120 s. */
const BROWSER_TEST_MS = 180_000;
const enc = (s: string) => new TextEncoder().encode(s);
const one = (s: string) => s.replace(/\s+/g, " ").trim();

/** Publishes `report` on `threadId` with the agent's own tool, as the publisher subagent does. */
async function publishWithTheAgentsTool(b: AgentBackbone, threadId: string, report: string): Promise<string> {
  const backend = {
    downloadFiles: async (paths: string[]) => paths.map((path) => ({ path, content: enc(report), error: null })),
  } as unknown as BackendProtocolV2;
  const publish = createPublishReportTool({ threadId, backbone: b, backend, emit: createEmitter(b, threadId), sources: await ThreadSources.load(b.blobs, threadId) }, "publisher");
  const out = await publish.invoke({ id: "call-publish", name: "publish_report", args: { path: "/workspace/report.md" }, type: "tool_call" });
  return String(out.content);
}

describe("vibewriter export", () => {
  let nats: TestNats;
  let b: AgentBackbone;
  let cwd: string;
  let quotes: string[];
  const env = () => ({ PATH: process.env.PATH, NATS_URL: nats.server.url });

  beforeAll(async () => {
    nats = await startTestNats();
    b = nats.backbone;
    cwd = await mkdtemp(join(tmpdir(), "vw-export-cli-"));
    const s = await northwindSources();
    const report = northwindReport(s);
    quotes = [
      "Northwind's revenue grew 12% year over year, to $48.2 million.",
      "Operating margin fell to 7.5% as freight costs rose.",
      "Northwind opened its third distribution centre in Columbus, Ohio, in August.",
      "The centre employs 140 people.",
    ];
    await storeSources(b.blobs, THREAD, [s.results, s.press]);
    await b.events.publish(THREAD, { type: EventType.RunStarted, data: { task: "Due diligence on Northwind" } });
    expect(await publishWithTheAgentsTool(b, THREAD, report)).toMatch(/^Published \/workspace\/report\.md to threads\/export-nw\/report\.md .* 4 verified citations\)\.$/);
    await b.events.publish(THREAD, { type: EventType.RunFinished, data: { status: "completed", report: REPORT_ARTIFACT(THREAD) } });
  });
  afterAll(async () => {
    await nats?.close();
    if (cwd) await rm(cwd, { recursive: true, force: true });
  });

  it("parses its options: format from --format or the --out extension (else html), paths from the current folder", () => {
    expect(parseCommandLine(["export", "t1"], "/w")).toEqual({ command: "export", threadId: "t1", format: "html", force: false, json: false });
    expect(parseCommandLine(["export", "t1", "-o", "r.pdf"], "/w")).toEqual({ command: "export", threadId: "t1", format: "pdf", out: "/w/r.pdf", force: false, json: false });
    expect(parseCommandLine(["export", "t1", "--out", "notes.MD", "--force", "--json"], "/w")).toMatchObject({ format: "md", out: "/w/notes.MD", force: true, json: true });
    expect(parseCommandLine(["export", "t1", "--format", "md", "--out", "r.html"], "/w")).toMatchObject({ format: "md", out: "/w/r.html" });
    expect(() => parseCommandLine(["export", "t1", "--format", "docx"], "/w")).toThrow('--format must be html, pdf or md, got "docx".');
    expect(() => parseCommandLine(["export"], "/w")).toThrow("`export` needs a thread id.");
    expect(() => parseCommandLine(["export", "../etc"], "/w")).toThrow(/not a valid thread id/);
  });

  it("md: the report with standard footnotes, the sources and the summary, on stdout", async () => {
    const io = captureIo(env(), cwd);
    expect(await main(["export", THREAD, "--format", "md"], io)).toBe(0);
    const md = io.out();
    expect(md.startsWith("# Northwind: Q3 due diligence\n\nRevenue grew by 12%[^1], while the margin narrowed[^2].\n")).toBe(true);
    quotes.forEach((q, i) => expect(md).toContain(`[^${i + 1}]: "${q}"`));
    expect(md).toContain("## Sources\n\n- **Northwind Q3 results**");
    expect(md).toContain("_4 citations, 4 verified against stored sources. Exported from Vibewriter, thread `export-nw`._");
    expect(io.err()).toBe("");
  });

  it("html (the default): a standalone page with every citation as a footnote with its quote", async () => {
    const io = captureIo(env(), cwd);
    expect(await main(["export", THREAD], io)).toBe(0);
    const html = io.out();
    expect(html.startsWith("<!doctype html>")).toBe(true);
    quotes.forEach((q, i) => {
      expect(html).toContain(`<li id="fn-${i + 1}" class="vw-footnote vw-verified"><q>${q.replace(/'/g, "&#39;")}</q>`);
      expect(html).toContain(`<a href="#fn-${i + 1}">${i + 1}</a></sup>`);
    });
    expect(html).toContain("4 citations, 4 verified against stored sources");
  });

  it("pdf: written to --out; the PDF opens and pdftotext finds every quote and the summary", async () => {
    const file = join(cwd, "northwind.pdf");
    const io = captureIo(env(), cwd);
    expect(await main(["export", THREAD, "--out", "northwind.pdf"], io), io.err()).toBe(0);
    expect(io.out()).toMatch(new RegExp(`^Exported the report of thread export-nw to ${file} \\(pdf, \\d+ bytes\\): 4 citations, 4 verified against stored sources\\.\\n$`));
    const { stdout } = await promisify(execFile)("/usr/bin/pdftotext", ["-enc", "UTF-8", file, "-"]);
    const text = one(stdout);
    for (const q of quotes) expect(text).toContain(q);
    expect(text).toContain("4 citations, 4 verified against stored sources");
  }, BROWSER_TEST_MS);

  it("pdf without --out goes to <thread>.pdf in the current folder; --json says where", async () => {
    const io = captureIo(env(), cwd);
    expect(await main(["export", THREAD, "--format", "pdf", "--json"], io), io.err()).toBe(0);
    const result = JSON.parse(io.out()) as { ok: boolean; out: string; bytes: number; format: string; verification: unknown };
    expect(result).toMatchObject({ ok: true, format: "pdf", out: join(cwd, `${THREAD}.pdf`), footnotes: 4, sources: 2 });
    expect(result.verification).toEqual({ citations: 4, verified: 4, summary: "4 citations, 4 verified against stored sources" });
    const pdf = await readFile(result.out);
    expect(pdf.length).toBe(result.bytes);
    expect(pdf.subarray(0, 5).toString("latin1")).toBe("%PDF-");
  }, BROWSER_TEST_MS);

  it("refuses to overwrite a file unless --force", async () => {
    const file = join(cwd, "kept.md");
    await writeFile(file, "my own notes\n");
    const io = captureIo(env(), cwd);
    expect(await main(["export", THREAD, "--out", file], io)).toBe(1);
    expect(io.err()).toBe(`vibewriter: ${file} already exists; export does not overwrite files\n  Pass --force to replace it, or choose another file with --out.\n`);
    expect(await readFile(file, "utf8")).toBe("my own notes\n");

    const forced = captureIo(env(), cwd);
    expect(await main(["export", THREAD, "--out", file, "--force"], forced)).toBe(0);
    expect(await readFile(file, "utf8")).toMatch(/^# Northwind: Q3 due diligence\n[\s\S]*\[\^4\]: /);
  });

  it("--json with stdout output carries the content and the verification", async () => {
    const io = captureIo(env(), cwd);
    expect(await main(["export", THREAD, "--format", "md", "--json"], io)).toBe(0);
    const result = JSON.parse(io.out()) as { content: string; title: string; threadId: string };
    expect(result).toMatchObject({ ok: true, threadId: THREAD, format: "md", title: "Northwind: Q3 due diligence", footnotes: 4 });
    expect(result.content).toContain("[^4]: \"The centre employs 140 people.\"");
  });

  it("a report whose citations no longer verify (a source gone, a quote altered) is exported with them marked, and a warning", async () => {
    const s = await northwindSources();
    const thread = "export-altered";
    await storeSources(b.blobs, thread, [s.results]);
    const report = [
      "# Altered",
      "",
      `Growth [[src:${s.results.id}|"Northwind's revenue grew 12% year over year,"]].`,
      `Growth [[src:${s.results.id}|"Northwind's revenue grew 40% year over year,"]].`,
      `Centre [[src:${s.press.id}|"The centre employs 140 people."]].`,
      "",
    ].join("\n");
    // Stored as publish_report stores it, then changed behind its back: the export checks again.
    await b.blobs.put(REPORT_ARTIFACT(thread), enc(report));
    await b.events.publish(thread, { type: EventType.ReportPublished, data: { artifact: REPORT_ARTIFACT(thread), sha256: "0".repeat(64), bytes: report.length, citations: 3, sources: [s.results.id, s.press.id] } });

    const io = captureIo(env(), cwd);
    expect(await main(["export", thread, "--format", "md"], io)).toBe(0);
    expect(io.out()).toContain(`[^2]: "Northwind's revenue grew 40% year over year," — Northwind Q3 results (source \`${s.results.id}\`) — **NOT VERIFIED: the quote does not appear in the source**`);
    expect(io.out()).toContain(`[^3]: "The centre employs 140 people." (source \`${s.press.id}\`) — **NOT VERIFIED: no stored source has this id**`);
    expect(io.out()).toContain("_3 citations, 1 verified against stored sources, 2 not verified.");
    expect(io.err()).toBe('vibewriter: warning: 2 of 3 citations did not verify against the stored sources; they are marked "not verified" in the export.\n');
  });

  it("a report kept after its events were pruned is still exported (read where publish_report stores it)", async () => {
    const s = await northwindSources();
    await storeSources(b.blobs, "export-pruned", [s.press]);
    await b.blobs.put(REPORT_ARTIFACT("export-pruned"), enc(`# P\n\nStaff [[src:${s.press.id}|"The centre employs 140 people."]].\n`));
    const io = captureIo(env(), cwd);
    expect(await main(["export", "export-pruned", "--format", "md"], io)).toBe(0);
    expect(io.out()).toContain("_1 citation, 1 verified against stored sources.");
  });

  it("a thread without a published report, and an unknown thread: not found, with what to do", async () => {
    await b.events.publish("export-running", { type: EventType.RunStarted, data: { task: "still going" } });
    const io = captureIo(env(), cwd);
    expect(await main(["export", "export-running"], io)).toBe(1);
    expect(io.err()).toBe(
      'vibewriter: thread "export-running" has no published report to export\n  A report exists once the run publishes it; see where the thread stands: vibewriter show export-running\n',
    );
    const json = captureIo(env(), cwd);
    expect(await main(["export", "export-running", "--json"], json)).toBe(1);
    expect(JSON.parse(json.out())).toMatchObject({ ok: false, error: { code: "not_found", causeCode: "no_report" } });

    const unknown = captureIo(env(), cwd);
    expect(await main(["export", "nobody-here", "--format", "pdf"], unknown)).toBe(1);
    expect(unknown.err()).toMatch(/^vibewriter: unknown thread "nobody-here".*\n {2}List threads with `vibewriter threads`\.\n$/);
  });

  it("as the read-only viewer on the embedded server (every identity checked by the server), the export reads all it needs", async () => {
    const state = await mkdtemp(join(tmpdir(), "vw-export-embedded-"));
    const runtime = await openBackbone({ env: { VIBEWRITER_STATE_DIR: state }, stateDir: state, role: NatsRole.Runtime, name: "runtime", provision: provisionLayout });
    try {
      const rb = runtime;
      const s = await northwindSources();
      await storeSources(rb.blobs, "export-embedded", [s.results, s.press]);
      expect(await publishWithTheAgentsTool(rb, "export-embedded", northwindReport(s))).toMatch(/^Published /);
      const io = captureIo({ PATH: process.env.PATH, VIBEWRITER_STATE_DIR: state }, cwd);
      expect(await main(["export", "export-embedded", "--format", "md"], io), io.err()).toBe(0);
      expect(io.out()).toContain("_4 citations, 4 verified against stored sources.");
    } finally {
      await runtime.close(); // the last lease: the embedded server stops
      await rm(state, { recursive: true, force: true });
    }
  });
});
