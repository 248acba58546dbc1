/**
 * The deterministic citation checker (code, not the model).
 *
 * Citation syntax, used in every prompt and skill:
 *
 *     [[src:<source-id>|"<exact quote from that source>"]]
 *
 * `<source-id>` is the stable content-derived id of a stored source (see `sources.ts`); the quote
 * is copied verbatim from the source. Matching normalises whitespace only (runs of spaces, tabs
 * and newlines count as one space, ends trimmed): case, punctuation and quote marks must match.
 * A quote may contain `"` but not the closing sequence `"]]`.
 */

export const CITATION_SYNTAX = '[[src:<source-id>|"<exact quote>"]]' as const;

const CITATION_RE = /\[\[src:([^|\]\s]*)\|"([\s\S]*?)"\]\]/g;
/** Anything that starts like a citation; those not matched by CITATION_RE are malformed. */
const CITATION_START_RE = /\[\[\s*src\s*:/gi;
const SOURCE_ID_RE = /^[a-z0-9][a-z0-9_-]{2,63}$/;

export interface Citation {
  sourceId: string;
  quote: string;
  /** The citation as written. */
  raw: string;
  /** 1-based line of the report where the citation starts. */
  line: number;
}

export const CitationProblemKind = {
  Malformed: "malformed",
  UnknownSource: "unknown_source",
  EmptyQuote: "empty_quote",
  QuoteNotFound: "quote_not_found",
} as const;
export type CitationProblemKind = (typeof CitationProblemKind)[keyof typeof CitationProblemKind];

export interface CitationProblem {
  kind: CitationProblemKind;
  line: number;
  raw: string;
  sourceId?: string;
  message: string;
}

export interface CitationCheckResult {
  ok: boolean;
  citations: Citation[];
  problems: CitationProblem[];
  /** Source ids cited at least once and verified. */
  verifiedSources: string[];
}

/** Collapse every run of whitespace to one space and trim: the only normalisation applied. */
export function normaliseWhitespace(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/**
 * Line numbers of offsets asked in increasing order, counted forward from the last one asked: a
 * report with thousands of citations is read once, not once per citation.
 */
function lineCounter(text: string): (offset: number) => number {
  let at = 0;
  let line = 1;
  return (offset) => {
    if (offset < at) [at, line] = [0, 1];
    for (; at < offset && at < text.length; at++) if (text.charCodeAt(at) === 10) line++;
    return line;
  };
}

function clip(s: string, n = 80): string {
  const one = normaliseWhitespace(s);
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
}

/** Every well-formed citation in `text`, plus the fragments that start like one but are not. */
export function parseCitations(text: string): { citations: Citation[]; malformed: CitationProblem[] } {
  const citations: Citation[] = [];
  const covered: [number, number][] = [];
  let lineAt = lineCounter(text);
  for (const m of text.matchAll(CITATION_RE)) {
    const start = m.index ?? 0;
    covered.push([start, start + m[0].length]);
    citations.push({ sourceId: m[1] ?? "", quote: m[2] ?? "", raw: m[0], line: lineAt(start) });
  }
  const malformed: CitationProblem[] = [];
  lineAt = lineCounter(text);
  let next = 0; // both lists run in text order: walk the covered spans once
  for (const m of text.matchAll(CITATION_START_RE)) {
    const start = m.index ?? 0;
    while (next < covered.length && covered[next]![1] <= start) next++;
    if (next < covered.length && start >= covered[next]![0]) continue;
    const raw = text.slice(start, Math.min(text.length, start + 80)).split("\n")[0] ?? "";
    malformed.push({
      kind: CitationProblemKind.Malformed,
      line: lineAt(start),
      raw,
      message: `malformed citation "${clip(raw)}": write it as ${CITATION_SYNTAX}`,
    });
  }
  return { citations, malformed };
}

/**
 * Check every citation in `report` against the stored sources (`id → full text`). The report is
 * verifiable when it has at least one citation and every citation names a known source whose text
 * contains the quote.
 */
export function checkCitations(report: string, sources: ReadonlyMap<string, string>): CitationCheckResult {
  const { citations, malformed } = parseCitations(report);
  const problems: CitationProblem[] = [...malformed];
  const normalisedSources = new Map<string, string>();
  const verified = new Set<string>();
  for (const c of citations) {
    const base = { line: c.line, raw: c.raw, sourceId: c.sourceId };
    if (!SOURCE_ID_RE.test(c.sourceId) || !sources.has(c.sourceId)) {
      problems.push({
        ...base,
        kind: CitationProblemKind.UnknownSource,
        message: `line ${c.line}: source "${clip(c.sourceId, 40)}" is not a stored source`,
      });
      continue;
    }
    const quote = normaliseWhitespace(c.quote);
    if (quote.length === 0) {
      problems.push({ ...base, kind: CitationProblemKind.EmptyQuote, message: `line ${c.line}: empty quote for source ${c.sourceId}` });
      continue;
    }
    let text = normalisedSources.get(c.sourceId);
    if (text === undefined) {
      text = normaliseWhitespace(sources.get(c.sourceId) ?? "");
      normalisedSources.set(c.sourceId, text);
    }
    if (!text.includes(quote)) {
      problems.push({
        ...base,
        kind: CitationProblemKind.QuoteNotFound,
        message: `line ${c.line}: quote "${clip(c.quote)}" does not appear in source ${c.sourceId}`,
      });
      continue;
    }
    verified.add(c.sourceId);
  }
  if (citations.length === 0 && problems.length === 0) {
    problems.push({
      kind: CitationProblemKind.Malformed,
      line: 0,
      raw: "",
      message: `the report has no citations; cite every factual sentence as ${CITATION_SYNTAX}`,
    });
  }
  problems.sort((a, b) => a.line - b.line);
  return { ok: problems.length === 0, citations, problems, verifiedSources: [...verified].sort() };
}

/** A human-readable list of the problems, one per line. */
export function formatCitationProblems(problems: readonly CitationProblem[]): string {
  return problems.map((p) => `- ${p.message}`).join("\n");
}

/**
 * Lines that state something without any citation (advice for the verifier; publishing does not
 * require it). Exempt: headings, blank lines, an italic note line (`_…_`), rules, and everything
 * in a `Sources` section. Mirrors `uncited_lines` in the citation-ready-report skill.
 */
export function uncitedLines(report: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  let inSources = false;
  report.split("\n").forEach((raw, i) => {
    const s = raw.trim();
    if (!s) return;
    if (s.startsWith("#")) {
      inSources = s.replace(/^#+/, "").trim().toLowerCase().startsWith("sources");
      return;
    }
    if (inSources || (s.startsWith("_") && s.endsWith("_")) || s === "---" || s === "***") return;
    if (!s.includes("[[src:")) out.push({ line: i + 1, text: s.slice(0, 120) });
  });
  return out;
}
