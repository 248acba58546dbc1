import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentError, AgentErrorCode } from "../../src/agent/errors.ts";
import { htmlToText } from "../../src/agent/extract-text.ts";
import { loadSourcesDir, sourceIdFor, sourceUploads, SOURCE_PATHS } from "../../src/agent/sources.ts";
import { SAMPLES_DIR } from "../../src/agent/samples.ts";
import { minimalPdf } from "./fixtures/minimal-pdf.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "vw-sources-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function refusal(p: Promise<unknown>): Promise<AgentError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(AgentError.isInstance(err, AgentErrorCode.BadSource)).toBe(true);
  return err as AgentError;
}

describe("sources", () => {
  it("reads markdown, text, HTML and PDF with stable content-derived ids", async () => {
    await writeFile(join(dir, "a.md"), "# Title A\n\nRevenue was $1 million.\n");
    await writeFile(join(dir, "b.txt"), "Plain text source.");
    await mkdir(join(dir, "web"));
    await writeFile(join(dir, "web", "c.html"), "<html><head><title>T &amp; C</title><script>x()</script></head><body><p>Net loss &mdash; $2&nbsp;million.</p></body></html>");
    const pdf = minimalPdf(["The auditor found a material weakness.", "Second line (with parens)."]);
    await writeFile(join(dir, "d.pdf"), pdf);
    const sources = await loadSourcesDir(dir);
    expect(sources.map((s) => [s.origin, s.kind])).toEqual([
      ["a.md", "markdown"],
      ["b.txt", "text"],
      ["d.pdf", "pdf"],
      ["web/c.html", "html"],
    ]);
    expect(sources[0]!.title).toBe("Title A");
    expect(sources[2]!.text).toContain("The auditor found a material weakness.");
    expect(sources[2]!.id).toBe(sourceIdFor(pdf));
    expect(sources[3]!.text).toBe("Net loss — $2 million.");
    expect(sources[3]!.title).toBe("T & C");
    // Same bytes, same id, whatever the name or the run.
    const again = await loadSourcesDir(dir);
    expect(again.map((s) => s.id)).toEqual(sources.map((s) => s.id));
    expect(sources[0]!.id).toMatch(/^[0-9a-f]{12}$/);
  });

  it("refuses a folder with a binary file, naming it, before anything is used", async () => {
    await writeFile(join(dir, "ok.md"), "fine");
    await writeFile(join(dir, "photo.jpg"), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1]));
    await writeFile(join(dir, "fake.txt"), Buffer.concat([Buffer.from("text then "), Buffer.alloc(64, 0)]));
    const err = await refusal(loadSourcesDir(dir));
    expect(err.message).toContain("photo.jpg: refused, binary content");
    expect(err.message).toContain("fake.txt: refused, binary content");
    expect(err.message).not.toContain("ok.md");
  });

  it("refuses a huge file with its size and the limit", async () => {
    await writeFile(join(dir, "big.txt"), "a".repeat(2048));
    const err = await refusal(loadSourcesDir(dir, { maxFileBytes: 1024, maxTextChars: 10_000, maxFiles: 10 }));
    expect(err.message).toMatch(/big\.txt: too large \(.* MiB; the limit is .* MiB\)/);
  });

  it("refuses a missing folder, an empty folder, a fake PDF and an empty file", async () => {
    expect((await refusal(loadSourcesDir(join(dir, "nope")))).message).toContain("does not exist");
    expect((await refusal(loadSourcesDir(dir))).message).toContain("has no files");
    await writeFile(join(dir, "x.pdf"), "not a pdf at all");
    await writeFile(join(dir, "empty.md"), "");
    const err = await refusal(loadSourcesDir(dir));
    expect(err.message).toContain("x.pdf: refused, named .pdf but is not a PDF");
    expect(err.message).toContain("empty.md: empty file");
  });

  it("places sources in the sandbox as <id>.txt plus an index", async () => {
    const sources = await loadSourcesDir(SAMPLES_DIR);
    expect(sources).toHaveLength(4);
    const uploads = sourceUploads(sources, new Map(sources.map((s) => [s.id, s.text])));
    expect(uploads.map(([p]) => p)).toEqual([...sources.map((s) => SOURCE_PATHS.sandboxFile(s.id)), SOURCE_PATHS.sandboxIndex]);
    const index = JSON.parse(new TextDecoder().decode(uploads.at(-1)![1])) as Array<{ id: string; origin: string }>;
    expect(index.map((i) => i.origin).sort()).toEqual(["annual-report-2025.md", "auditor-letter.txt", "lender-notice.pdf", "press-release.html"]);
  });

  it("turns HTML into text without scripts, styles or tags", () => {
    const { text } = htmlToText("<style>p{}</style><h1>A</h1><p>b &lt;c&gt; &#8212; &#x41;</p><!-- hidden -->");
    expect(text).toBe("A\n\nb <c> — A");
  });
});
