/**
 * A report document as markdown with standard footnotes (`[^1]` in the text, `[^1]: …` after it),
 * as GitHub, Pandoc and markdown-it-footnote read them, then a Sources appendix and the
 * verification line. The report body is kept as written; quotes and titles placed in footnotes
 * are escaped so they read as text, never as markup.
 */
import type { Footnote, ReportDocument, SourceEntry } from "./report-document.ts";
import { FOOTNOTE_TOKEN_RE } from "./report-document.ts";

const PROBLEM_TEXT: Record<string, string> = {
  unknown_source: "NOT VERIFIED: no stored source has this id",
  empty_quote: "NOT VERIFIED: the quote is empty",
  quote_not_found: "NOT VERIFIED: the quote does not appear in the source",
};

/** Backslash-escapes the characters that start inline markup, so a quote stays literal text. */
export function escapeMarkdownInline(s: string): string {
  return s.replace(/[\\`*_{}[\]<>()#+!|~]/g, (c) => `\\${c}`);
}

function footnoteLine(f: Footnote, source: SourceEntry | undefined): string {
  const title = source?.title ? ` — ${escapeMarkdownInline(source.title)}` : "";
  const status = f.verified ? "" : ` — **${PROBLEM_TEXT[f.problem ?? ""] ?? "NOT VERIFIED"}**`;
  return `[^${f.n}]: "${escapeMarkdownInline(f.quote)}"${title} (source \`${f.sourceId.replace(/`/g, "'")}\`)${status}`;
}

function sourceLines(s: SourceEntry): string[] {
  const name = s.title ? `**${escapeMarkdownInline(s.title)}** ` : "";
  const origin = s.url ? ` — <${s.url.replace(/[<>\s]/g, encodeURIComponent)}>` : s.origin ? ` — ${escapeMarkdownInline(s.origin)}` : "";
  const stored = s.stored ? "" : " — **not a stored source**";
  const notes = `${s.footnotes.length === 1 ? "note" : "notes"} ${s.footnotes.join(", ")}`;
  return [`- ${name}\`${s.sourceId.replace(/`/g, "'")}\`${origin}${stored} — ${notes}`, ...s.quotes.map((q) => `  - "${escapeMarkdownInline(q)}"`)];
}

export function renderReportMarkdown(doc: ReportDocument): string {
  const bySource = new Map(doc.sources.map((s) => [s.sourceId, s]));
  // `[^` written by the report itself would read as a footnote reference: keep it literal.
  const body = doc.body.replace(/\[\^/g, "\\[^").replace(FOOTNOTE_TOKEN_RE, (_m, n: string) => `[^${n}]`).trimEnd();
  const out = [body, ""];
  if (doc.footnotes.length > 0) {
    out.push(...doc.footnotes.map((f) => footnoteLine(f, bySource.get(f.sourceId))), "");
    out.push("## Sources", "", ...doc.sources.flatMap(sourceLines), "");
  }
  out.push("---", "", `_${doc.verification.summary}. Exported from Vibewriter, thread \`${doc.threadId}\`._`, "");
  return out.join("\n");
}
