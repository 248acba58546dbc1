/** `renderReportMarkdown`: standard `[^n]` footnotes, a Sources appendix and the verification line. */
import { renderReportMarkdown } from "../../src/export/markdown.ts";
import { buildReportDocument } from "../../src/export/report-document.ts";
import { northwindReport, northwindSources, storedSources } from "./fixture.ts";

describe("report markdown", () => {
  it("writes each citation as a standard footnote with its quote, title and source id, then the sources and the summary", async () => {
    const s = await northwindSources();
    const md = renderReportMarkdown(buildReportDocument("nw-1", northwindReport(s), storedSources(s.results, s.press)));
    expect(md).toBe(
      [
        "# Northwind: Q3 due diligence",
        "",
        "Revenue grew by 12%[^1], while the margin narrowed[^2].",
        "",
        "## Operations",
        "",
        "A third distribution centre opened in Ohio[^3].",
        "It employs 140 people[^4].",
        "",
        `[^1]: "Northwind's revenue grew 12% year over year, to $48.2 million." — Northwind Q3 results (source \`${s.results.id}\`)`,
        `[^2]: "Operating margin fell to 7.5% as freight costs rose." — Northwind Q3 results (source \`${s.results.id}\`)`,
        `[^3]: "Northwind opened its third distribution centre in Columbus, Ohio, in August." — Northwind opens Columbus centre (source \`${s.press.id}\`)`,
        `[^4]: "The centre employs 140 people." — Northwind opens Columbus centre (source \`${s.press.id}\`)`,
        "",
        "## Sources",
        "",
        `- **Northwind Q3 results** \`${s.results.id}\` — northwind-q3.md — notes 1, 2`,
        `  - "Northwind's revenue grew 12% year over year, to $48.2 million."`,
        `  - "Operating margin fell to 7.5% as freight costs rose."`,
        `- **Northwind opens Columbus centre** \`${s.press.id}\` — <https://example.org/northwind/press> — notes 3, 4`,
        `  - "Northwind opened its third distribution centre in Columbus, Ohio, in August."`,
        `  - "The centre employs 140 people."`,
        "",
        "---",
        "",
        "_4 citations, 4 verified against stored sources. Exported from Vibewriter, thread `nw-1`._",
        "",
      ].join("\n"),
    );
  });

  it("marks what did not verify, keeps quotes literal, and never lets the report's own [^n] pose as a footnote", async () => {
    const s = await northwindSources();
    const report = `# R\n\nSee [^1] and *this* [[src:${s.results.id}|"a *bold* [claim](x)"]] and [[src:feedfacefeed|"gone"]].\n`;
    const md = renderReportMarkdown(buildReportDocument("r", report, storedSources(s.results)));
    expect(md).toContain("See \\[^1] and *this*[^1] and[^2].");
    expect(md).toContain(`[^1]: "a \\*bold\\* \\[claim\\]\\(x\\)" — Northwind Q3 results (source \`${s.results.id}\`) — **NOT VERIFIED: the quote does not appear in the source**`);
    expect(md).toContain(`[^2]: "gone" (source \`feedfacefeed\`) — **NOT VERIFIED: no stored source has this id**`);
    expect(md).toContain("- `feedfacefeed` — **not a stored source** — note 2");
    expect(md).toContain("_2 citations, 0 verified against stored sources, 2 not verified.");
  });

  it("a report with no citations: the body and the summary only", () => {
    expect(renderReportMarkdown(buildReportDocument("plain", "# Notes\n\nUnsourced.\n", new Map()))).toBe(
      "# Notes\n\nUnsourced.\n\n---\n\n_no citations: nothing in this report is checked against stored sources. Exported from Vibewriter, thread `plain`._\n",
    );
  });

  it("a huge report: every reference has its definition", () => {
    const id = "0123456789ab";
    const report = Array.from({ length: 3000 }, (_, i) => `Line ${i} [[src:${id}|"Fact ${i % 10} holds."]].`).join("\n\n");
    const md = renderReportMarkdown(buildReportDocument("huge", report, new Map([[id, { text: "Fact 0 holds. Fact 1 holds. Fact 2 holds. Fact 3 holds. Fact 4 holds. Fact 5 holds. Fact 6 holds. Fact 7 holds. Fact 8 holds. Fact 9 holds." }]])));
    const refs = [...md.matchAll(/\[\^(\d+)\](?!:)/g)].map((m) => Number(m[1]));
    const defs = [...md.matchAll(/^\[\^(\d+)\]: "Fact \d holds\."/gm)].map((m) => Number(m[1]));
    const all = Array.from({ length: 3000 }, (_, i) => i + 1);
    expect(refs).toEqual(all);
    expect(defs).toEqual(all);
    expect(md).toContain("_3000 citations, 3000 verified against stored sources.");
  });
});
