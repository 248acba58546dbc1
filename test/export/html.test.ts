/** `renderReportHtml`: footnotes, appendix and summary; the report's own text never becomes markup. */
import { renderReportHtml } from "../../src/export/html.ts";
import { buildReportDocument } from "../../src/export/report-document.ts";
import { northwindReport, northwindSources, storedSources } from "./fixture.ts";

/** Every tag in `html` with its attributes (escaped text has no `<`, so only real markup is seen). */
function tags(html: string): Array<{ name: string; attrs: Array<[string, string]> }> {
  return [...html.matchAll(/<([a-zA-Z][\w-]*)((?:\s+[^\s=>]+(?:="[^"]*")?)*)\s*\/?>/g)].map((m) => ({
    name: m[1]!.toLowerCase(),
    attrs: [...m[2]!.matchAll(/\s+([^\s=>]+)(?:="([^"]*)")?/g)].map((a) => [a[1]!.toLowerCase(), a[2] ?? ""] as [string, string]),
  }));
}

const FRAGMENT_TAGS = new Set([
  "article", "section", "div", "p", "h1", "h2", "h3", "h4", "h5", "h6", "ol", "ul", "li", "sup", "a", "q", "cite", "code", "pre",
  "em", "strong", "s", "blockquote", "hr", "br", "table", "thead", "tbody", "tr", "th", "td", "span", "footer",
]);

/** The fragment's markup is only what the renderer writes: known tags, no handlers, no styles, safe links. */
function expectInert(html: string): void {
  for (const t of tags(html)) {
    expect(FRAGMENT_TAGS, `<${t.name}>`).toContain(t.name);
    for (const [name, value] of t.attrs) {
      expect(name, `<${t.name} ${name}=…>`).toMatch(/^(class|id|href|rel|title|aria-label)$/);
      if (name === "href") expect(value, `<${t.name} href>`).toMatch(/^(https?:\/\/|mailto:|#)/i);
    }
  }
}

describe("report HTML", () => {
  it("standalone: a whole document with its own print CSS and a CSP that loads nothing; every citation a footnote with its quote", async () => {
    const s = await northwindSources();
    const doc = buildReportDocument("nw-1", northwindReport(s), storedSources(s.results, s.press));
    const html = renderReportHtml(doc, { standalone: true });

    expect(html).toMatch(/^<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">/);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`);
    expect(html).toContain("<title>Northwind: Q3 due diligence</title>");
    expect(html).toMatch(/<style>[\s\S]*@page[\s\S]*<\/style>/);
    expect(html).not.toMatch(/<script|<link|<img|<iframe/i);

    for (const f of doc.footnotes) {
      // The reference in the text links to its note, and the note links back.
      expect(html).toContain(`<sup class="vw-fn-ref" id="fnref-${f.n}"><a href="#fn-${f.n}">${f.n}</a></sup>`);
      expect(html).toMatch(new RegExp(`<li id="fn-${f.n}" class="vw-footnote vw-verified"><q>${f.quote.replace(/[.$?()]/g, "\\$&").replace(/'/g, "&#39;")}</q>[^\\n]*<a class="vw-backref" href="#fnref-${f.n}"`));
    }
    expect(html).toContain("Revenue grew by 12%<sup");
    expect(html).toContain(`<cite>Northwind Q3 results</cite> <span class="vw-source-id">(source <code>${s.results.id}</code>)</span>`);
    // The appendix: each source with its title, id, link and quotes; and the summary, at the top and at the end.
    expect(html).toContain(`<li class="vw-source"><cite>Northwind opens Columbus centre</cite> <code>${s.press.id}</code> — <span class="vw-origin"><a href="https://example.org/northwind/press" rel="noopener noreferrer nofollow">https://example.org/northwind/press</a></span> — <span class="vw-cited-in">notes <a href="#fn-3">3</a>, <a href="#fn-4">4</a></span><ul class="vw-quotes"><li><q>Northwind opened its third distribution centre in Columbus, Ohio, in August.</q></li><li><q>The centre employs 140 people.</q></li></ul></li>`);
    expect(html).toContain(`<p class="vw-verification vw-verified">4 citations, 4 verified against stored sources</p>`);
    expect(html).toContain("Exported from Vibewriter, thread <code>nw-1</code>. 4 citations, 4 verified against stored sources.");
  });

  it("fragment: an <article> for the console, classes only (no style attribute, no script), links to the source view when asked", async () => {
    const s = await northwindSources();
    const report = northwindReport(s) + "\n| metric | Q3 |\n|:--|--:|\n| revenue | $48.2m |\n";
    const doc = buildReportDocument("nw-1", report, storedSources(s.results, s.press));
    const html = renderReportHtml(doc, { standalone: false, sourceHref: (f) => `#/thread/nw-1/source/${f.sourceId}?n=${f.n}&q=1` });
    expect(html.startsWith(`<article class="vw-report">`)).toBe(true);
    expect(html.trimEnd().endsWith("</article>")).toBe(true);
    expect(html).not.toMatch(/<(!doctype|html|head|body|style|script)\b/i);
    expect(html).not.toContain("style=");
    expect(html).toContain(`<th class="vw-align-left">metric</th>`);
    expect(html).toContain(`<td class="vw-align-right">$48.2m</td>`);
    expect(html).toContain(`<a class="vw-source-link" href="#/thread/nw-1/source/${s.press.id}?n=3&amp;q=1">source</a>`);
    expectInert(html);
    // Without sourceHref, no source links.
    expect(renderReportHtml(doc, { standalone: false })).not.toContain("vw-source-link");
  });

  it("an unverified citation is shown, marked, and the summary says so", async () => {
    const s = await northwindSources();
    const report = `# R\n\nGrowth was 40% [[src:${s.results.id}|"revenue grew 40%"]]. Sold [[src:feedfacefeed|"sold"]].\n`;
    const html = renderReportHtml(buildReportDocument("r", report, storedSources(s.results)), { standalone: false });
    expect(html).toContain(`<li id="fn-1" class="vw-footnote vw-unverified"><q>revenue grew 40%</q> — <cite>Northwind Q3 results</cite>`);
    expect(html).toContain(`<span class="vw-status vw-unverified">not verified: the quote does not appear in the source</span>`);
    expect(html).toContain(`<span class="vw-status vw-unverified">not verified: no stored source has this id</span>`);
    expect(html).toContain(`<li class="vw-source vw-unverified"><code>feedfacefeed</code> — <span class="vw-status vw-unverified">not a stored source</span>`);
    expect(html).toContain(`<p class="vw-verification vw-unverified">2 citations, 0 verified against stored sources, 2 not verified</p>`);
  });

  it("a report with no citations: the body and the summary, no notes or sources sections", () => {
    const html = renderReportHtml(buildReportDocument("plain", "# Notes\n\nUnsourced.\n", new Map()), { standalone: false });
    expect(html).toContain("<h1>Notes</h1>\n<p>Unsourced.</p>");
    expect(html).toContain("no citations: nothing in this report is checked against stored sources");
    expect(html).not.toContain("vw-footnotes");
    expect(html).not.toContain("vw-sources");
  });

  it("neutralises HTML, script, event handlers and javascript: links written by the model, wherever they are", async () => {
    const s = await northwindSources();
    const hostile = [
      `# Report <script>alert("title")</script>`,
      "",
      `<script>alert(1)</script>`,
      "",
      `<img src=x onerror="alert(2)"> and <a href="javascript:alert(3)">click</a> <iframe src="https://evil.example/"></iframe>`,
      "",
      `[a](javascript:alert(4)) [b](JaVaScRiPt:alert(5)) [c](jav&#x61;script:alert(6)) [d]( javascript:alert(7)) <javascript:alert(8)>`,
      `[e][ref] [f](data:text/html;base64,PHNjcmlwdD4=) [g](vbscript:msgbox) [h](file:///etc/passwd) ![i](javascript:alert(9)) ![j](https://evil.example/pixel.png)`,
      `[ok](https://example.org/a?b=1&c=2 "t\\"itle onmouseover=alert(10)") [mail](mailto:ir@example.org)`,
      "",
      `[ref]: javascript:alert(11)`,
      "",
      `Quoted [[src:${s.results.id}|"<img src=x onerror=alert(12)>"]] and [[src:<script>alert(13)</script>|"x"]].`,
      "",
      "```html",
      `<script>alert(14)</script>`,
      "```",
    ].join("\n");
    const sources = storedSources(s.results);
    sources.set(s.results.id, { ...sources.get(s.results.id)!, title: `</cite><script>alert(15)</script>`, url: "javascript:alert(16)" });
    const doc = buildReportDocument("evil", hostile, sources);
    for (const html of [renderReportHtml(doc, { standalone: false }), renderReportHtml(doc, { standalone: true })]) {
      const body = html.replace(/^[\s\S]*?<article/, "<article"); // the standalone head is the renderer's own
      expectInert(body);
      expect(html).not.toMatch(/<script|<img|<iframe|javascript:alert\(\d+\)"|href="(data|vbscript|file):/i);
      // The text is still there, as text.
      expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
      expect(html).toContain(`&lt;img src=x onerror=&quot;alert(2)&quot;&gt;`);
      expect(html).toContain(`<q>&lt;img src=x onerror=alert(12)&gt;</q>`);
      expect(html).toContain(`<code>&lt;script&gt;alert(13)&lt;/script&gt;</code>`);
      expect(html).toContain(`<cite>&lt;/cite&gt;&lt;script&gt;alert(15)&lt;/script&gt;</cite>`);
      // Safe links survive, with their title escaped and no referrer.
      expect(html).toContain(`<a href="https://example.org/a?b=1&amp;c=2" title="t&quot;itle onmouseover=alert(10)" rel="noopener noreferrer nofollow">ok</a>`);
      expect(html).toContain(`<a href="mailto:ir@example.org" rel="noopener noreferrer nofollow">mail</a>`);
    }
    expect(renderReportHtml(doc, { standalone: true })).toContain("<title>Report &lt;script&gt;alert(&quot;title&quot;)&lt;/script&gt;</title>");
  });

  it("a footnote in a code span or inside a link's text reads [n]", async () => {
    const s = await northwindSources();
    const report = `# C\n\n\`see [[src:${s.press.id}|"The centre employs 140 people."]]\`\n\n[staff [[src:${s.press.id}|"The centre employs 140 people."]]](https://example.org/)\n`;
    const html = renderReportHtml(buildReportDocument("c", report, storedSources(s.press)), { standalone: false });
    expect(html).toContain("<code>see[1]</code>");
    expect(html).toContain(`<a href="https://example.org/" rel="noopener noreferrer nofollow">staff[2]</a>`); // no link inside a link
    expect(html).not.toContain("fnref-2");
    expect(html).not.toContain("fnref-1");
    expect(html).toContain(`<li id="fn-1"`);
  });

  it("a huge report renders every footnote", () => {
    const id = "0123456789ab";
    const text = Array.from({ length: 100 }, (_, i) => `Fact ${i} holds.`).join(" ");
    const report = Array.from({ length: 3000 }, (_, i) => `Line ${i} [[src:${id}|"Fact ${i % 100} holds."]].`).join("\n\n");
    const html = renderReportHtml(buildReportDocument("huge", report, new Map([[id, { text }]])), { standalone: true });
    expect(html.match(/<sup class="vw-fn-ref" id="fnref-\d+">/g)).toHaveLength(3000);
    expect(html.match(/<li id="fn-\d+" class="vw-footnote vw-verified">/g)).toHaveLength(3000);
    expect(html).toContain(`<li id="fn-3000" class="vw-footnote vw-verified"><q>Fact 99 holds.</q>`);
  });
});
