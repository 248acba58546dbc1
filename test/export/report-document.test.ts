/** `buildReportDocument`: citations become numbered footnotes, verified again against the stored sources. */
import { buildReportDocument, footnoteToken, FOOTNOTE_TOKEN_RE } from "../../src/export/report-document.ts";
import { northwindReport, northwindSources, storedSources } from "./fixture.ts";

const tokens = (body: string) => [...body.matchAll(FOOTNOTE_TOKEN_RE)].map((m) => Number(m[1]));

describe("a report document", () => {
  it("numbers every citation as a footnote in reading order, with its quote, source and line", async () => {
    const s = await northwindSources();
    const doc = buildReportDocument("nw-1", northwindReport(s), storedSources(s.results, s.press));

    expect(doc.title).toBe("Northwind: Q3 due diligence");
    expect(doc.footnotes).toEqual([
      { n: 1, sourceId: s.results.id, quote: "Northwind's revenue grew 12% year over year, to $48.2 million.", line: 3, verified: true },
      { n: 2, sourceId: s.results.id, quote: "Operating margin fell to 7.5% as freight costs rose.", line: 4, verified: true },
      { n: 3, sourceId: s.press.id, quote: "Northwind opened its third distribution centre in Columbus, Ohio, in August.", line: 8, verified: true },
      { n: 4, sourceId: s.press.id, quote: "The centre employs 140 people.", line: 9, verified: true },
    ]);
    // The markers are gone; each reference sits against the word it supports.
    expect(doc.body).not.toContain("[[src:");
    expect(tokens(doc.body)).toEqual([1, 2, 3, 4]);
    expect(doc.body).toContain(`Revenue grew by 12%${footnoteToken(1)}, while the margin narrowed${footnoteToken(2)}.`);
    expect(doc.body.startsWith("# Northwind: Q3 due diligence\n\n")).toBe(true);
    expect(doc.verification).toEqual({ citations: 4, verified: 4, summary: "4 citations, 4 verified against stored sources" });
  });

  it("gathers the cited sources for the appendix: title, origin, an http link when it has one, the quotes used", async () => {
    const s = await northwindSources();
    const report = northwindReport(s) + `\nAgain [[src:${s.results.id}|"Operating margin fell to 7.5% as freight costs rose."]].\n`;
    const doc = buildReportDocument("nw-1", report, storedSources(s.results, s.press));
    expect(doc.sources).toEqual([
      {
        sourceId: s.results.id,
        title: "Northwind Q3 results",
        origin: "northwind-q3.md",
        quotes: ["Northwind's revenue grew 12% year over year, to $48.2 million.", "Operating margin fell to 7.5% as freight costs rose."],
        footnotes: [1, 2, 5],
        stored: true,
      },
      {
        sourceId: s.press.id,
        title: "Northwind opens Columbus centre",
        origin: "https://example.org/northwind/press",
        url: "https://example.org/northwind/press",
        quotes: ["Northwind opened its third distribution centre in Columbus, Ohio, in August.", "The centre employs 140 people."],
        footnotes: [3, 4],
        stored: true,
      },
    ]);
  });

  it("shows a citation of an unknown source, a quote not in its source and an empty quote, each marked not verified and counted", async () => {
    const s = await northwindSources();
    const report = [
      "# Mixed",
      `Revenue grew 12% [[src:${s.results.id}|"Northwind's revenue grew 12% year over year,"]].`,
      `Revenue grew 40% [[src:${s.results.id}|"Northwind's revenue grew 40% year over year,"]].`,
      `A rumour [[src:feedfacefeed|"Northwind will be sold."]].`,
      `Nothing [[src:${s.press.id}|""]].`,
    ].join("\n");
    const doc = buildReportDocument("mixed", report, storedSources(s.results, s.press));
    expect(doc.footnotes.map((f) => [f.n, f.verified, f.problem])).toEqual([
      [1, true, undefined],
      [2, false, "quote_not_found"],
      [3, false, "unknown_source"],
      [4, false, "empty_quote"],
    ]);
    expect(doc.footnotes[2]).toMatchObject({ sourceId: "feedfacefeed", quote: "Northwind will be sold." });
    expect(doc.sources.find((e) => e.sourceId === "feedfacefeed")).toEqual({ sourceId: "feedfacefeed", quotes: ["Northwind will be sold."], footnotes: [3], stored: false });
    expect(doc.verification).toEqual({ citations: 4, verified: 1, summary: "4 citations, 1 verified against stored sources, 3 not verified" });
  });

  it("a report with no citations: no footnotes, the body as written, a summary that says nothing is checked", () => {
    const report = "# Notes\n\nNothing here is sourced.\n";
    const doc = buildReportDocument("plain", report, new Map());
    expect(doc).toEqual({
      threadId: "plain",
      title: "Notes",
      body: report,
      footnotes: [],
      sources: [],
      verification: { citations: 0, verified: 0, summary: "no citations: nothing in this report is checked against stored sources" },
    });
    expect(buildReportDocument("untitled", "Just text.\n", new Map()).title).toBe("Report untitled");
    expect(buildReportDocument("t", "```sh\n# not a title\n```\n\n## The *real* title [[src:x|\"y\"]]\n", new Map()).title).toBe("The real title");
  });

  it("the report cannot forge a footnote reference: the token's characters are removed from its text", async () => {
    const s = await northwindSources();
    const forged = `# F\n\nSee ${footnoteToken(1)} and ${footnoteToken(7)} [[src:${s.press.id}|"The centre employs 140 people."]].\n`;
    const doc = buildReportDocument("forge", forged, storedSources(s.press));
    expect(tokens(doc.body)).toEqual([1]);
    expect(doc.body).toBe(`# F\n\nSee 1 and 7${footnoteToken(1)}.\n`);
  });

  it("a huge report: thousands of citations, every one a footnote, each checked", () => {
    const text = Array.from({ length: 400 }, (_, i) => `Fact ${i} is recorded in the ledger.`).join("\n");
    const id = "0123456789ab";
    const lines = ["# Ledger review", ""];
    for (let i = 0; i < 4000; i++) lines.push(`Entry ${i} holds [[src:${id}|"Fact ${i % 400} is recorded in the ledger."]].`, "");
    lines.push(`Entry 4000 does not [[src:${id}|"Fact 400 is recorded in the ledger."]].`);
    const doc = buildReportDocument("huge", lines.join("\n"), new Map([[id, { text }]]));
    expect(doc.footnotes).toHaveLength(4001);
    expect(doc.footnotes.map((f) => f.n)).toEqual(Array.from({ length: 4001 }, (_, i) => i + 1));
    expect(doc.footnotes.at(-2)).toMatchObject({ quote: "Fact 399 is recorded in the ledger.", line: 8001, verified: true });
    expect(doc.footnotes.at(-1)).toMatchObject({ verified: false, problem: "quote_not_found", line: 8003 });
    expect(tokens(doc.body)).toHaveLength(4001);
    expect(doc.sources).toHaveLength(1);
    expect(doc.sources[0]!.quotes).toHaveLength(401);
    expect(doc.sources[0]!.footnotes).toHaveLength(4001);
    expect(doc.verification.summary).toBe("4001 citations, 4000 verified against stored sources, 1 not verified");
  });
});
