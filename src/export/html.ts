/**
 * A report document as HTML: the report body, numbered footnotes with their quotes, the sources
 * appendix and the verification summary.
 *
 * The report text comes from a language model, so it is untrusted: markdown-it parses it with raw
 * HTML off, links are kept only for http, https and mailto (anything else stays plain text),
 * images become plain text (an export fetches nothing), and every other string that reaches the
 * output (titles, quotes, source ids, origins) is escaped. The fragment has no `style=` attribute
 * and no script (the console's CSP forbids both); the standalone document carries its own CSS and
 * a CSP that lets it load nothing at all.
 */
import markdownIt, { type MarkdownIt } from "markdown-it";
import type { Footnote, ReportDocument, SourceEntry } from "./report-document.ts";
import { FOOTNOTE_TOKEN_RE } from "./report-document.ts";
import { REPORT_CSS } from "./report-css.ts";

export interface RenderHtmlOptions {
  /** true: a complete HTML document with inline print CSS (file export, PDF); false: an `<article>` fragment. */
  standalone: boolean;
  /** Where a footnote's source can be read (e.g. the console's source view); no link when absent. */
  sourceHref?: (f: Footnote) => string;
}

const SAFE_LINK_RE = /^(https?:\/\/|mailto:)/i;
const PROBLEM_TEXT: Record<string, string> = {
  unknown_source: "not verified: no stored source has this id",
  empty_quote: "not verified: the quote is empty",
  quote_not_found: "not verified: the quote does not appear in the source",
};

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** The markdown parser for report bodies, configured once. */
function reportMarkdown(): MarkdownIt {
  const md = markdownIt({ html: false, linkify: false, typographer: false });
  md.disable("image");
  md.validateLink = (url: string) => SAFE_LINK_RE.test(url.trim());
  const renderLinkOpen = md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
  md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
    tokens[idx]!.attrSet("rel", "noopener noreferrer nofollow");
    return renderLinkOpen(tokens, idx, options, env, self);
  };
  // Footnote reference tokens in running text become links; the renderer below draws them.
  md.core.ruler.push("vw_footnote_refs", (state) => {
    const env = state.env as BodyEnv;
    for (const block of state.tokens) {
      if (block.type !== "inline" || !block.children) continue;
      const out: typeof block.children = [];
      let inLink = 0; // a reference inside a link's text would nest links: it stays "[n]" there
      for (const t of block.children) {
        if (t.type === "link_open") inLink++;
        if (t.type === "link_close") inLink--;
        if (t.type !== "text" || inLink > 0 || !t.content.includes("\uE000")) {
          out.push(t);
          continue;
        }
        let last = 0;
        for (const m of t.content.matchAll(FOOTNOTE_TOKEN_RE)) {
          const n = Number(m[1]);
          if (n < 1 || n > env.footnotes) continue; // not one of ours: left for the text pass below
          env.referenced.add(n);
          const text = new state.Token("text", "", 0);
          text.content = t.content.slice(last, m.index);
          const ref = new state.Token("vw_footnote_ref", "", 0);
          ref.meta = { n };
          out.push(text, ref);
          last = (m.index ?? 0) + m[0].length;
        }
        const rest = new state.Token("text", "", 0);
        rest.content = t.content.slice(last);
        out.push(rest);
      }
      block.children = out;
    }
  });
  // Table alignment: classes instead of markdown-it's style attributes (CSP: no inline styles).
  md.core.ruler.push("vw_align_classes", (state) => {
    for (const t of state.tokens) {
      if (t.type !== "th_open" && t.type !== "td_open") continue;
      const style = t.attrGet("style");
      if (!style) continue;
      const align = /text-align:\s*(left|right|center)/.exec(String(style))?.[1];
      t.attrs = (t.attrs ?? []).filter(([name]) => name !== "style");
      if (align) t.attrJoin("class", `vw-align-${align}`);
    }
  });
  md.renderer.rules.vw_footnote_ref = (tokens, idx) => {
    const n = (tokens[idx]!.meta as { n: number }).n;
    return `<sup class="vw-fn-ref" id="fnref-${n}"><a href="#fn-${n}">${n}</a></sup>`;
  };
  return md;
}

/** What one rendering of a body knows: how many footnotes exist, which ones the text links to. */
type BodyEnv = {
  footnotes: number;
  referenced: Set<number>;
};

let parser: MarkdownIt | undefined;

/**
 * The body as HTML, and the footnotes it links to. A footnote token left where no link may go
 * (code, attributes) reads "[n]"; its note then has no link back.
 */
function bodyHtml(doc: ReportDocument): { html: string; referenced: Set<number> } {
  parser ??= reportMarkdown();
  const env: BodyEnv = { footnotes: doc.footnotes.length, referenced: new Set() };
  const html = parser.render(doc.body, env).replace(FOOTNOTE_TOKEN_RE, (_m: string, n: string) => `[${n}]`);
  return { html, referenced: env.referenced };
}

function sourceLabel(s: SourceEntry | undefined): string {
  return s?.title ? `<cite>${escapeHtml(s.title)}</cite> ` : "";
}

function footnoteItem(f: Footnote, source: SourceEntry | undefined, opts: RenderHtmlOptions, linkBack: boolean): string {
  const status = f.verified
    ? `<span class="vw-status vw-verified">verified</span>`
    : `<span class="vw-status vw-unverified">${escapeHtml(PROBLEM_TEXT[f.problem ?? ""] ?? "not verified")}</span>`;
  const link = opts.sourceHref ? ` <a class="vw-source-link" href="${escapeHtml(opts.sourceHref(f))}">source</a>` : "";
  return (
    `<li id="fn-${f.n}" class="vw-footnote ${f.verified ? "vw-verified" : "vw-unverified"}">` +
    `<q>${escapeHtml(f.quote)}</q> — ${sourceLabel(source)}<span class="vw-source-id">(source <code>${escapeHtml(f.sourceId)}</code>)</span> ` +
    `${status}${link}${linkBack ? ` <a class="vw-backref" href="#fnref-${f.n}" aria-label="back to the text">↩</a>` : ""}</li>`
  );
}

function sourceItem(s: SourceEntry): string {
  const origin = s.url && SAFE_LINK_RE.test(s.url)
    ? `<a href="${escapeHtml(s.url)}" rel="noopener noreferrer nofollow">${escapeHtml(s.origin ?? s.url)}</a>`
    : s.origin
      ? escapeHtml(s.origin)
      : "";
  const notes = s.footnotes.map((n) => `<a href="#fn-${n}">${n}</a>`).join(", ");
  const quotes = s.quotes.map((q) => `<li><q>${escapeHtml(q)}</q></li>`).join("");
  return (
    `<li class="vw-source${s.stored ? "" : " vw-unverified"}">` +
    `${s.title ? `<cite>${escapeHtml(s.title)}</cite> ` : ""}<code>${escapeHtml(s.sourceId)}</code>` +
    `${origin ? ` — <span class="vw-origin">${origin}</span>` : ""}` +
    `${s.stored ? "" : ` — <span class="vw-status vw-unverified">not a stored source</span>`}` +
    ` — <span class="vw-cited-in">${s.footnotes.length === 1 ? "note" : "notes"} ${notes}</span>` +
    `${quotes ? `<ul class="vw-quotes">${quotes}</ul>` : ""}</li>`
  );
}

function articleHtml(doc: ReportDocument, opts: RenderHtmlOptions): string {
  const bySource = new Map(doc.sources.map((s) => [s.sourceId, s]));
  const v = doc.verification;
  const allVerified = v.citations > 0 && v.verified === v.citations;
  const body = bodyHtml(doc);
  const parts = [
    `<article class="vw-report">`,
    `<p class="vw-verification ${allVerified ? "vw-verified" : "vw-unverified"}">${escapeHtml(v.summary)}</p>`,
    `<div class="vw-body">${body.html}</div>`,
  ];
  if (doc.footnotes.length > 0) {
    parts.push(
      `<section class="vw-footnotes"><h2>Notes</h2><ol>`,
      ...doc.footnotes.map((f) => footnoteItem(f, bySource.get(f.sourceId), opts, body.referenced.has(f.n))),
      `</ol></section>`,
      `<section class="vw-sources"><h2>Sources</h2><ol>`,
      ...doc.sources.map(sourceItem),
      `</ol></section>`,
    );
  }
  parts.push(
    `<footer class="vw-colophon"><p>Exported from Vibewriter, thread <code>${escapeHtml(doc.threadId)}</code>. ${escapeHtml(v.summary)}.</p></footer>`,
    `</article>`,
  );
  return parts.join("\n");
}

/** The report as HTML: a complete, self-contained document, or an `<article>` fragment for the console. */
export function renderReportHtml(doc: ReportDocument, opts: RenderHtmlOptions): string {
  const article = articleHtml(doc, opts);
  if (!opts.standalone) return article + "\n";
  return [
    `<!doctype html>`,
    `<html lang="en">`,
    `<head>`,
    `<meta charset="utf-8">`,
    // Self-contained: the document may load nothing (no scripts, images, fonts, frames).
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    `<meta name="referrer" content="no-referrer">`,
    `<meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<title>${escapeHtml(doc.title)}</title>`,
    `<style>${REPORT_CSS}</style>`,
    `</head>`,
    `<body>`,
    article,
    `</body>`,
    `</html>`,
    ``,
  ].join("\n");
}
