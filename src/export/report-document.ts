/**
 * A published report turned into a document people can read: every `[[src:<id>|"<quote>"]]`
 * marker becomes a numbered footnote carrying its quote and source, the cited sources are
 * gathered for an appendix, and the citations are verified again here, against the stored source
 * texts, by the same checker `publish_report` uses (`src/agent/citations.ts`). Nothing in the
 * event log is taken on trust: an export says "verified" only for what it has just checked.
 *
 * The renderers (`html.ts`, `markdown.ts`) take a `ReportDocument`; the console builds one with
 * `loadReportDocument` and renders it with `renderReportHtml`.
 */
import { type AgentBackbone, AgentError, AgentErrorCode, checkCitations, CitationProblemKind, normaliseWhitespace, parseCitations, readSourceManifest, SOURCE_PATHS } from "../agent/index.ts";
import { assertThreadId } from "../config/index.ts";
import { EventType } from "../nats/index.ts";
import { ExportError, ExportErrorCode } from "./errors.ts";

/** One citation of the report, numbered in reading order (each citation is its own footnote). */
export interface Footnote {
  /** 1-based, in the order the citations appear in the report. */
  n: number;
  sourceId: string;
  /** The quote as cited, whitespace collapsed (the form that is matched against the source). */
  quote: string;
  /** Line of the report where the citation starts. */
  line?: number;
  /** True when the source is stored and its text contains the quote, checked at export time. */
  verified: boolean;
  /** Why it is not verified: `unknown_source`, `empty_quote` or `quote_not_found`. */
  problem?: CitationProblemKind;
}

/** A cited source, for the appendix: in the order of its first citation. */
export interface SourceEntry {
  sourceId: string;
  title?: string;
  /** Where it came from: a path relative to the sources folder, or a URL. */
  origin?: string;
  /** An http(s) address for it, when it has one. */
  url?: string;
  /** The distinct quotes cited from it, in order of first use. */
  quotes: string[];
  /** The footnotes that cite it. */
  footnotes: number[];
  /** False when no stored source has this id (every footnote citing it is then not verified). */
  stored: boolean;
}

export interface ReportVerification {
  citations: number;
  verified: number;
  /** One line, e.g. "21 citations, 21 verified against stored sources". */
  summary: string;
}

export interface ReportDocument {
  threadId: string;
  /** The report's first heading, or "Report <thread>". */
  title: string;
  /**
   * The report markdown with each citation marker replaced by `footnoteToken(n)`. The token is
   * made of private-use characters that are removed from the report text first, so the report
   * itself can never forge a footnote reference.
   */
  body: string;
  footnotes: Footnote[];
  sources: SourceEntry[];
  verification: ReportVerification;
}

/** A stored source, as the export needs it. */
export interface StoredSource {
  title?: string;
  origin?: string;
  url?: string;
  text: string;
}

const TOKEN_OPEN = "\uE000";
const TOKEN_CLOSE = "\uE001";
const TOKEN_CHARS_RE = /[\uE000\uE001]/g;

/** The footnote reference token for footnote `n` in `ReportDocument.body`. */
export function footnoteToken(n: number): string {
  return `${TOKEN_OPEN}${n}${TOKEN_CLOSE}`;
}

/** Matches every footnote reference token in a body; group 1 is the footnote number. */
export const FOOTNOTE_TOKEN_RE = /\uE000(\d+)\uE001/g;

const HTTP_URL_RE = /^https?:\/\/[^\s]+$/i;

/** The one-line verification summary. */
export function verificationSummary(citations: number, verified: number): string {
  if (citations === 0) return "no citations: nothing in this report is checked against stored sources";
  const head = `${citations} citation${citations === 1 ? "" : "s"}, ${verified} verified against stored sources`;
  return verified === citations ? head : `${head}, ${citations - verified} not verified`;
}

/** The first heading's text (citations and markdown emphasis removed), if the report has one. */
function titleOf(markdown: string): string | undefined {
  const prose = markdown.replace(/^ {0,3}(`{3,}|~{3,})[\s\S]*?^ {0,3}\1/gm, ""); // a `# comment` in a code block is no heading
  const headings = [...prose.matchAll(/^ {0,3}(#{1,6})[ \t]+(.+?)[ \t#]*$/gm)];
  const first = headings.find((h) => h[1] === "#") ?? headings[0];
  if (!first) return undefined;
  const text = normaliseWhitespace(
    first[2]!
      .replace(/\[\[src:[^\]]*\]\]/g, "")
      .replace(TOKEN_CHARS_RE, "")
      .replace(/[*_`]+/g, ""),
  );
  return text || undefined;
}

/**
 * Builds the document from the report's markdown and the thread's stored sources (`id → source`).
 * Pure: every quote is checked against `sources` here.
 */
export function buildReportDocument(threadId: string, markdown: string, sources: ReadonlyMap<string, StoredSource>): ReportDocument {
  const texts = new Map<string, string>();
  for (const [id, s] of sources) texts.set(id, s.text);
  const { citations, problems } = checkCitations(markdown, texts);
  // The verdict of a citation depends only on its text (source id and quote): key problems by it.
  const problemOf = new Map<string, CitationProblemKind>();
  for (const p of problems) {
    if (p.kind !== CitationProblemKind.Malformed) problemOf.set(p.raw, p.kind);
  }

  const footnotes: Footnote[] = [];
  const entries = new Map<string, SourceEntry>();
  const quotesSeen = new Map<string, Set<string>>();
  const parts: string[] = [];
  let cursor = 0;
  for (const c of citations) {
    // parseCitations returns citations in order, each as written: the next one starts at or after the cursor.
    const at = markdown.indexOf(c.raw, cursor);
    // "grew 4% [[src:…]]." reads "grew 4%¹.": the reference sits against the word it supports.
    parts.push(markdown.slice(cursor, at).replace(TOKEN_CHARS_RE, "").replace(/(\S)[ \t]+$/, "$1"));
    cursor = at + c.raw.length;

    const n = footnotes.length + 1;
    const problem = problemOf.get(c.raw);
    const quote = normaliseWhitespace(c.quote);
    footnotes.push({ n, sourceId: c.sourceId, quote, line: c.line, verified: problem === undefined, ...(problem ? { problem } : {}) });
    parts.push(footnoteToken(n));

    let entry = entries.get(c.sourceId);
    if (!entry) {
      const s = sources.get(c.sourceId);
      const url = s?.url ?? (s?.origin && HTTP_URL_RE.test(s.origin) ? s.origin : undefined);
      entry = {
        sourceId: c.sourceId,
        ...(s?.title ? { title: s.title } : {}),
        ...(s?.origin ? { origin: s.origin } : {}),
        ...(url ? { url } : {}),
        quotes: [],
        footnotes: [],
        stored: s !== undefined,
      };
      entries.set(c.sourceId, entry);
    }
    const seen = quotesSeen.get(c.sourceId) ?? quotesSeen.set(c.sourceId, new Set()).get(c.sourceId)!;
    if (quote && !seen.has(quote)) {
      seen.add(quote);
      entry.quotes.push(quote);
    }
    entry.footnotes.push(n);
  }
  parts.push(markdown.slice(cursor).replace(TOKEN_CHARS_RE, ""));

  const verified = footnotes.filter((f) => f.verified).length;
  return {
    threadId,
    title: titleOf(markdown) ?? `Report ${threadId}`,
    body: parts.join(""),
    footnotes,
    sources: [...entries.values()],
    verification: { citations: footnotes.length, verified, summary: verificationSummary(footnotes.length, verified) },
  };
}

/** Where `publish_report` stores a thread's report (`REPORT_ARTIFACT` in src/agent/tools/publish.ts, not imported: it loads LangChain). */
const reportArtifact = (threadId: string) => `threads/${threadId}/report.md`;
/** Source texts read at once from the Object Store. */
const READ_AHEAD = 8;

/**
 * The thread's published report as a document: the report the last `report.published` event
 * names (read from the Object Store), verified again against the thread's stored sources (only
 * the cited ones are read). A thread with no published report is an `ExportError(no_report)`; a
 * thread with nothing stored at all is an `AgentError(unknown_thread)`.
 */
export async function loadReportDocument(b: AgentBackbone, threadId: string): Promise<ReportDocument> {
  // Checked before a name is built from it.
  assertThreadId(threadId, (message) => new AgentError(AgentErrorCode.InvalidThreadId, message));
  const published = await b.events.history(threadId, { types: [EventType.ReportPublished] });
  const named = published.at(-1)?.type === EventType.ReportPublished ? (published.at(-1)!.data as { artifact?: unknown }).artifact : undefined;
  // The event names the artifact; only a name inside the thread's own folder is read.
  const artifact = typeof named === "string" && named.startsWith(`threads/${threadId}/`) ? named : reportArtifact(threadId);
  const raw = await b.blobs.get(artifact);
  if (!raw) {
    if ((await b.events.history(threadId)).length === 0 && (await readSourceManifest(b.blobs, threadId)).length === 0) {
      throw new AgentError(AgentErrorCode.UnknownThread, `unknown thread "${threadId}": it has no events and no stored files (see \`vibewriter threads\`)`);
    }
    throw new ExportError(ExportErrorCode.NoReport, `thread "${threadId}" has no published report to export`, {
      fix: `A report exists once the run publishes it; see where the thread stands: vibewriter show ${threadId}`,
    });
  }
  const markdown = new TextDecoder().decode(raw);

  const manifest = new Map((await readSourceManifest(b.blobs, threadId)).map((info) => [info.id, info]));
  const cited = [...new Set(parseCitations(markdown).citations.map((c) => c.sourceId))].filter((id) => manifest.has(id));
  const sources = new Map<string, StoredSource>();
  for (let i = 0; i < cited.length; i += READ_AHEAD) {
    await Promise.all(
      cited.slice(i, i + READ_AHEAD).map(async (id) => {
        const text = await b.blobs.get(SOURCE_PATHS.artifact(id));
        if (!text) return; // listed but not stored: its citations stay unverified
        const info = manifest.get(id)!;
        sources.set(id, { ...(info.title ? { title: info.title } : {}), origin: info.origin, text: new TextDecoder().decode(text) });
      }),
    );
  }
  return buildReportDocument(threadId, markdown, sources);
}
