/**
 * How the contract test compares a MicroVMBackend result with BaseSandbox's for the same case:
 * what the deepagents tools pass on to the model, after the ALLOWED DIFFERENCES below — each one a
 * place where BaseSandbox's behaviour is a bug (or is not reproducible), kept ours on purpose:
 *
 *  order        ls/glob/grep: ours sorted by path; BaseSandbox prints find/grep's directory order,
 *               which depends on the filesystem. Both are compared sorted.
 *  numbered     read: BaseSandbox's awk prefixes every line with "%6d\t", although read_file
 *               promises "every line after the header is unmodified file content" (and
 *               FilesystemBackend/StateBackend return raw lines). Ours returns raw lines; the test
 *               strips the numbers from BaseSandbox's and checks they run startLine, startLine+1…
 *  emptyWarning read of an empty file: BaseSandbox returns the warning with echo's "\n", so
 *               read_file does not recognise it as the warning; ours returns it exactly.
 *  pastEnd      read at an offset past the end: BaseSandbox returns an empty window without
 *               pagination (read_file then heads it with a line that does not exist); ours returns
 *               "Line offset N exceeds file length (M lines)", as FilesystemBackend does.
 *  grepTrailing grep text is compared without trailing blanks: BaseSandbox trims its whole output,
 *               so its last match alone loses them; ours drops a CRLF line's "\r" on every match.
 *  classNegation / braces  glob `[!…]` is a negated class for us (POSIX); BaseSandbox copies the
 *               class into a RegExp, where "!" is a member. `{a,b}` are alternatives for us and
 *               literal braces for BaseSandbox. Only ours is checked (no error) for such patterns.
 *  confinement  paths outside the view roots are refused by ours with a clear error; BaseSandbox
 *               reaches the whole VM (never exercised against it: see the test).
 *  absolutePattern glob with an absolute pattern: BaseSandbox finds nothing (it matches against
 *               relative paths), although the glob tool's own description offers one as an
 *               example; ours gives absolute paths.
 *  newlinePattern grep for text with a newline: `grep -F` takes each line as a pattern of its own;
 *               ours finds nothing (no line holds a newline).
 *  emptyPattern grep for "": BaseSandbox returns every line of every file; ours asks for a pattern.
 *  symlinks     not generated: ours never follows a link (confinement), BaseSandbox's `find -L`
 *               does; backend-suite.ts covers links.
 *  rawTimes     readRaw: BaseSandbox stamps created/modified with "now"; ours gives the file's.
 *  pathAsPattern ls of a directory whose name holds [ ] * ?: BaseSandbox lists the directory
 *               itself among its entries (`find -not -path` takes the name as a pattern).
 *  dollarPatterns edit with replaceAll: BaseSandbox passes newString to String.replaceAll, so
 *               "$&", "$'", "$`", "$$" expand (and its count turns fractional); ours is literal,
 *               checked against BaseSandbox's rules applied literally (see the test).
 *  dirSize      ls/glob: a directory's size is not compared (BaseSandbox gives st_size, ours 0);
 *               ls shows directories without a size.
 */
import type { FileInfo, GrepMatch, ReadRawResult, ReadResult } from "deepagents";
import type { Case } from "./contract-cases.ts";

type Any = Record<string, unknown>;

/** Plain data with sorted keys (binary content as base64), so results compare as JSON text. */
function plain(x: unknown): unknown {
  if (x instanceof Uint8Array) return { base64: Buffer.from(x).toString("base64") };
  if (Array.isArray(x)) return x.map(plain);
  if (x && typeof x === "object") {
    const entries = Object.entries(x).filter(([, v]) => v !== undefined);
    return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, plain(v)]));
  }
  return x;
}

const byPath = <T extends { path: string; line?: number }>(a: T, b: T) => (a.path < b.path ? -1 : a.path > b.path ? 1 : (a.line ?? 0) - (b.line ?? 0));

function infos(files: FileInfo[] | undefined): unknown {
  if (!files) return files;
  return [...files].sort(byPath).map((f) => ({ path: f.path, is_dir: f.is_dir, ...(f.is_dir ? {} : { size: f.size }), modified_at: f.modified_at }));
}

function matches(ms: GrepMatch[] | undefined): unknown {
  if (!ms) return ms;
  return [...ms].sort(byPath).map((m) => ({ path: m.path, line: m.line, text: m.text.trimEnd() }));
}

/** read_file's body (deepagents' formatSourceBlock): the final newline never shows. */
function body(content: string): string {
  return content.endsWith("\n") ? content.slice(0, -1) : content;
}

const NUMBERED = /^ *(\d+)\t(.*)$/s;

/** Strips BaseSandbox's "%6d\t" line numbers, checking they count up from `start`. */
function unnumber(content: string, start: number): string | { badNumbering: string } {
  const rows = body(content).split("\n");
  const out: string[] = [];
  for (const [i, row] of rows.entries()) {
    const m = NUMBERED.exec(row);
    if (!m || Number(m[1]) !== start + i) return { badNumbering: row.slice(0, 40) };
    out.push(m[2]!);
  }
  return out.join("\n");
}

export const EMPTY_WARNING = "System reminder: File exists but has empty contents";

/** What the model would see of a read, ours. */
function oursRead(r: ReadResult): unknown {
  if (r.error || typeof r.content !== "string") return plain(r);
  return plain({ ...r, content: body(r.content) });
}

/** What the model would see of a read, BaseSandbox's, after the allowed differences. */
function theirsRead(c: Extract<Case, { op: "read" }>, r: ReadResult, ours: ReadResult): unknown {
  if (r.error || typeof r.content !== "string") return plain(r);
  if (r.content === `${EMPTY_WARNING}\n`) return plain({ ...r, content: EMPTY_WARNING }); // emptyWarning
  if (r.startLine === undefined) {
    // pastEnd: an empty window; ours must then be the FilesystemBackend error (checked by shape).
    if (r.content === "" && ours.error?.startsWith("Line offset ")) return plain(ours);
    return plain({ ...r, content: body(r.content) });
  }
  const raw = unnumber(r.content, r.startLine); // numbered
  if (typeof raw !== "string") return raw;
  return plain({ ...r, content: raw });
}

function rawRead(r: ReadRawResult): unknown {
  if (!r.data) return plain(r);
  const { created_at: _c, modified_at: _m, ...rest } = r.data; // rawTimes
  return plain({ data: rest });
}

/** The two sides' results in comparable form. */
export function comparable(c: Case, ours: unknown, theirs: unknown, resolved: Case): { ours: unknown; theirs: unknown } {
  const o = ours as Any;
  const t = theirs as Any;
  switch (c.op) {
    case "ls": {
      // pathAsPattern: BaseSandbox excludes the listed directory with `find -not -path DIR`, which
      // reads DIR as a pattern: a directory named with [ ] * ? lists itself.
      const self = "path" in resolved ? resolved.path.replace(/\/+$/, "") + "/" : "";
      const theirs = (t.files as FileInfo[] | undefined)?.filter((f) => !(/[[*?]/.test(self) && f.path === self));
      return { ours: { ...plain(o) as Any, files: infos(o.files as FileInfo[]) }, theirs: { ...plain(t) as Any, files: infos(theirs) } };
    }
    case "glob":
      return { ours: { ...plain(o) as Any, files: infos(o.files as FileInfo[]) }, theirs: { ...plain(t) as Any, files: infos(t.files as FileInfo[]) } };
    case "grep":
      return { ours: { ...plain(o) as Any, matches: matches(o.matches as GrepMatch[]) }, theirs: { ...plain(t) as Any, matches: matches(t.matches as GrepMatch[]) } };
    case "read":
      return { ours: oursRead(o as ReadResult), theirs: theirsRead(c, t as ReadResult, o as ReadResult) };
    case "readRaw":
      return { ours: rawRead(o as ReadRawResult), theirs: rawRead(t as ReadRawResult) };
    default:
      return { ours: plain(o), theirs: plain(t) };
  }
}

/**
 * Cases whose answer differs on purpose; for them ours alone is checked against what it must be
 * (an error message if it is wrong, null if right), and BaseSandbox is not asked.
 */
export function onPurpose(c: Case, resolved: Case, ours: unknown): string | null | undefined {
  const r = ours as { error?: string; files?: FileInfo[]; matches?: GrepMatch[] };
  const globDiffers = (p: string) => /\[!/.test(p) || /[{}]/.test(p);
  if (c.op === "glob" && c.pattern.startsWith("{R}/") && resolved.op === "glob") {
    // absolutePattern: BaseSandbox matches patterns against relative paths, so an absolute one
    // (the glob tool's description has one) finds nothing; ours answers with absolute paths.
    const root = resolved.pattern.slice(0, resolved.pattern.indexOf("/sub/"));
    return r.files?.length && r.files.every((f) => f.path.startsWith(`${root}/sub/`)) ? null : "absolute pattern: want absolute matches";
  }
  if ((c.op === "glob" && globDiffers(c.pattern)) || (c.op === "grep" && c.glob && globDiffers(c.glob))) {
    // classNegation / braces: POSIX's meaning; check it answers (and finds something in the tree's root).
    if (r.error) return "want an answer for a POSIX class/brace pattern";
    return c.op === "glob" && c.path === "{R}" && !r.files?.length ? "want matches for a POSIX class/brace pattern" : null;
  }
  if (c.op === "grep" && c.pattern.includes("\n")) {
    // newlinePattern: `grep -F` reads a pattern with "\n" as several patterns (either line
    // matches); a line never holds a newline, so ours finds nothing.
    return r.matches && r.matches.length === 0 && !r.error ? null : "want no match for a pattern with a newline";
  }
  if (c.op === "grep" && c.pattern === "") {
    // emptyPattern: `grep -e ''` returns every line of every file; ours asks for a pattern.
    return r.error === "Error: pattern must be a non-empty string" ? null : "want an error for an empty pattern";
  }
  return undefined;
}
