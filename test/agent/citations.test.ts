import { checkCitations, CitationProblemKind, normaliseWhitespace, parseCitations, uncitedLines } from "../../src/agent/citations.ts";

const sources = new Map([
  ["aaaaaaaaaaaa", "Revenue for fiscal 2025 was $48.2 million,\n  up 31% from $36.8 million.\nThe CEO said \"demand is strong\"."],
  ["bbbbbbbbbbbb", "The Company has incurred recurring losses."],
]);

describe("citation checker", () => {
  it("accepts exact quotes, with whitespace differences only", () => {
    const r = checkCitations(
      'Revenue rose [[src:aaaaaaaaaaaa|"Revenue for fiscal 2025 was $48.2 million, up 31%"]].\n' +
        'Losses recur [[src:bbbbbbbbbbbb|"incurred   recurring\nlosses"]].',
      sources,
    );
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.citations).toHaveLength(2);
    expect(r.verifiedSources).toEqual(["aaaaaaaaaaaa", "bbbbbbbbbbbb"]);
  });

  it("allows a double quote inside the quote", () => {
    const r = checkCitations('X [[src:aaaaaaaaaaaa|"The CEO said "demand is strong"."]]', sources);
    expect(r.ok).toBe(true);
    expect(r.citations[0]!.quote).toBe('The CEO said "demand is strong".');
  });

  it("names an unknown source and its line", () => {
    const r = checkCitations('ok [[src:aaaaaaaaaaaa|"up 31%"]]\nbad [[src:cccccccccccc|"anything"]]', sources);
    expect(r.ok).toBe(false);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({ kind: CitationProblemKind.UnknownSource, line: 2, sourceId: "cccccccccccc" });
    expect(r.problems[0]!.message).toContain("cccccccccccc");
  });

  it("refuses a quote that is not in its source (case and punctuation count)", () => {
    const r = checkCitations(
      'a [[src:aaaaaaaaaaaa|"revenue for fiscal 2025"]]\nb [[src:aaaaaaaaaaaa|"up 31 % from"]]\nc [[src:bbbbbbbbbbbb|"up 31%"]]',
      sources,
    );
    expect(r.problems.map((p) => [p.kind, p.line])).toEqual([
      [CitationProblemKind.QuoteNotFound, 1],
      [CitationProblemKind.QuoteNotFound, 2],
      [CitationProblemKind.QuoteNotFound, 3],
    ]);
    expect(r.problems[2]!.message).toContain("bbbbbbbbbbbb");
  });

  it("reports an empty quote and malformed citations", () => {
    const r = checkCitations('a [[src:aaaaaaaaaaaa|"  "]]\nb [[src:aaaaaaaaaaaa "no bar"]]\nc [[ src : x|no quotes]]', sources);
    expect(r.problems.map((p) => p.kind)).toEqual([
      CitationProblemKind.EmptyQuote,
      CitationProblemKind.Malformed,
      CitationProblemKind.Malformed,
    ]);
  });

  it("refuses a report without any citation", () => {
    const r = checkCitations("# Title\n\nRevenue rose a lot.", sources);
    expect(r.ok).toBe(false);
    expect(r.problems[0]!.message).toMatch(/no citations/);
  });

  it("does not accept a quote spanning two sources or ids that look like paths", () => {
    const r = checkCitations('x [[src:../aaaaaaaaaaaa|"up 31%"]]', sources);
    expect(r.problems[0]!.kind).toBe(CitationProblemKind.UnknownSource);
  });

  it("parses positions and normalises whitespace only", () => {
    expect(normaliseWhitespace("  a\t\n b  ")).toBe("a b");
    const { citations } = parseCitations('\n\nz [[src:abc123abc123|"q"]]');
    expect(citations[0]).toMatchObject({ sourceId: "abc123abc123", quote: "q", line: 3 });
  });

  it("lists lines that state something without a citation, exempting headings, notes and Sources", () => {
    const report = [
      "# Title",
      "_A note about method._",
      "",
      'Cited claim [[src:aaaaaaaaaaaa|"up 31%"]].',
      "An uncited claim.",
      "## Sources",
      "- aaaaaaaaaaaa annual report",
    ].join("\n");
    expect(uncitedLines(report)).toEqual([{ line: 5, text: "An uncited claim." }]);
  });
});
