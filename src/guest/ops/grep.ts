/**
 * `grep`: literal search, the pattern is data (no shell, no regex). Binary files (by extension or
 * a NUL byte) and very large files are skipped. Files are searched as bytes: in the agent, from
 * the tree cache's contents or one read each, when few are not cached; otherwise by GNU grep
 * (`grep -F`, argv only, the walk's files as arguments: symlinks are never followed, confinement
 * is the walk's), one native read per file instead of four JS calls. Results are budgeted.
 *
 * A tree the cache knows nothing of (a command just made it) is searched by ONE `grep -r` over
 * its confined real directory, its answer sorted into walk order: listing and reading it into the
 * cache first cost 3–6 times BaseSandbox's own `grep -r` under TCG. The cache is filled after the
 * answer (fill-later.ts), so the next search is served from memory.
 */
import { closeSync, constants, openSync, readSync } from "node:fs";
import { OP_SCHEMAS, type GrepMatch, type GrepResult } from "../../protocol/index.ts";
import { bad } from "../args.ts";
import { hasBinaryExtension } from "../binary.ts";
import { budgetOf, Tally } from "../budget.ts";
import type { AgentContext } from "../context.ts";
import { compileGlob } from "../glob-match.ts";
import { LOAD_FILES, loadContents, MAX_FILE_BYTES, type Candidate } from "../content-load.ts";
import { ARGV_BYTES, FieldReader, runTool } from "../native-tool.ts";
import type { OpRequest } from "../request-context.ts";
import { compareWalkOrder, walk } from "../walk.ts";
import { searchStarts, type SearchStart } from "./search-roots.ts";
import { fillLater } from "../fill-later.ts";

/** Longest line text returned per match. */
const MAX_LINE_CHARS = 4000;
/** Bytes looked at for a NUL that marks a binary file. */
const BINARY_SNIFF = 8192;
/** Files not in the cache above which GNU grep searches instead of the agent. */
const NATIVE_FILES = 150;
const GREP = "/usr/bin/grep";
const NL = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
/** Matches a fresh-tree `grep -r` collects (to sort them) before the walk's path answers instead. */
const RECURSIVE_MATCHES = 200_000;
/** Entries a walk over a fresh tree lists in JS before one grep -r searches it instead. */
const JS_LIST_ENTRIES = 250;

export async function handleGrep(ctx: AgentContext, req: OpRequest<"grep">): Promise<GrepResult> {
  const pattern = req.args.pattern;
  if (pattern === "") throw bad("pattern must not be empty");
  const budget = budgetOf(req.args.maxCount, req.args.timeBudgetMs, OP_SCHEMAS.grep.limits.defaultMaxCount);
  const tally = new Tally(budget);
  if (pattern.includes("\n")) return { matches: [], ...tally.result() }; // lines never contain "\n"
  const needle = Buffer.from(pattern, "utf8");
  const nameFilter = req.args.glob ? compileGlob(req.args.glob) : null;
  const matches: GrepMatch[] = [];
  const found = (view: string, line: number, text: string): void => {
    if (tally.add(view.length + text.length + 16)) matches.push({ path: view, line, text });
  };

  await ctx.tree.settle();
  const starts = searchStarts(ctx, req.args.path ?? "/");
  // Trees the cache knows nothing of (an argument cannot hold NUL): the walk starts in JS (a small
  // tree is cheapest read here), and past NATIVE_FILES uncached files or JS_LIST_ENTRIES listed
  // entries (before any native scan) one grep -r searches them all instead; the cache fills after.
  const fresh = !pattern.includes("\0") && starts.length > 0 && starts.every((s) => !s.isFile && !ctx.tree.knowsUnder(s.real));
  // The files to search, in walk order; how many of them the cache has no content for.
  let files: Candidate[] = [];
  let uncached = 0;
  const collect = async (switchAt: number): Promise<"switch" | void> => {
    files = [];
    uncached = 0;
    for (const s of starts) {
      if (s.isFile) {
        files.push({ real: s.real, view: s.view });
        uncached++;
        continue;
      }
      const end = await walk(ctx, s.real, req, budget, (path, entry) => {
        if (entry.kind !== "file" || entry.size > MAX_FILE_BYTES) return;
        if (nameFilter && !nameFilter.test(entry.name)) return;
        if (hasBinaryExtension(entry.name)) return;
        if (ctx.tree.content(path) === undefined && ++uncached > switchAt) return false;
        // walk() builds each path as `${dir}/${name}` from s.real: the rest is the view's tail.
        files.push({ real: path, view: s.view + path.slice(s.real.length), entry });
      }, switchAt === Infinity ? undefined : JS_LIST_ENTRIES);
      if (end === "visit" || end === "big") return "switch";
      if (end === "time" || end === "entries") {
        tally.stop(end);
        break;
      }
    }
  };
  if ((await collect(fresh ? NATIVE_FILES : Infinity)) === "switch") {
    const hits = await searchFreshTrees(ctx, req, starts, needle, budget.deadline, nameFilter);
    if (hits !== "too-many") {
      for (const h of hits.matches) found(h.view, h.line, h.text);
      if (hits.late) tally.stop("time");
      fillLater(ctx, starts.map((s) => s.real));
      return { matches, ...tally.result() };
    }
    await collect(Infinity);
  }

  // Many files not in the cache: read them natively into it (then search here, and next time
  // from memory), or when they are too many or too big to keep, let GNU grep search them.
  // An argument cannot hold NUL (and a file with one is binary anyway): such a pattern stays here.
  const loaded = uncached > NATIVE_FILES && uncached <= LOAD_FILES ? await loadContents(ctx, req, files, budget.deadline) : "no";
  if (uncached > NATIVE_FILES && loaded === "no" && !pattern.includes("\0")) {
    await searchNatively(ctx, req, files, needle, budget.deadline, tally, found);
  } else {
    let late = false;
    for (let i = 0; i < files.length; i++) {
      // Out of time: what the cache holds is still searched (no file reads), the rest is not.
      if (!late && i % 64 === 0 && tally.done) late = true;
      if (late && ctx.tree.content(files[i]!.real) === undefined) {
        tally.stop("time");
        continue;
      }
      searchInAgent(ctx, files[i]!, needle, found);
    }
  }
  return { matches, ...tally.result() };
}

/** Searches one file's bytes in the agent (cached, or read once and offered to the cache). */
function searchInAgent(ctx: AgentContext, f: Candidate, needle: Buffer, found: (view: string, line: number, text: string) => void): void {
  // Cached: text that passed the checks below, or null for a file that did not.
  let bytes = ctx.tree.content(f.real);
  if (bytes === undefined) {
    if (hasBinaryExtension(f.real)) return;
    const read = readSmallRegular(f.real);
    // Like git and grep: a NUL byte near the start marks binary content.
    bytes = read && !read.subarray(0, BINARY_SNIFF).includes(0) ? read : null;
    ctx.tree.keep(f.real, bytes);
  }
  if (!bytes) return;
  let at = bytes.indexOf(needle);
  let line = 1;
  let scanned = 0; // newlines counted up to here
  while (at !== -1) {
    for (let nl = bytes.indexOf(NL, scanned); nl !== -1 && nl < at; nl = bytes.indexOf(NL, nl + 1)) {
      line++;
      scanned = nl + 1;
    }
    let lineEnd = bytes.indexOf(NL, at);
    if (lineEnd === -1) lineEnd = bytes.length;
    // Only matched lines are decoded.
    let text = bytes.toString("utf8", scanned, bytes[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd);
    if (text.length > MAX_LINE_CHARS) text = text.slice(0, MAX_LINE_CHARS);
    found(f.view, line, text);
    at = bytes.indexOf(needle, lineEnd + 1);
  }
}

interface Hit {
  view: string;
  /** The view path's components after its start's, and the start's index: the walk order's key. */
  start: number;
  tail: string[];
  line: number;
  text: string;
}

/**
 * One GNU `grep -r` over the starts' real directories: recursion never follows a
 * symlink (`-r`, not `-R`), `-D skip` skips FIFOs and devices, `-I` binary files, and the name
 * filters of the walk path apply to each hit. Hits come in directory order: sorted here into walk
 * order (start; in each directory its files by name, then its subdirectories by name; then line). "too-many" past RECURSIVE_MATCHES.
 */
async function searchFreshTrees(
  ctx: AgentContext,
  req: OpRequest<"grep">,
  starts: SearchStart[],
  needle: Buffer,
  deadline: number,
  nameFilter: ReturnType<typeof compileGlob> | null,
): Promise<{ matches: Hit[]; late: boolean } | "too-many"> {
  const hits: Hit[] = [];
  let tooMany = false;
  const args = ["-r", "-D", "skip", "-F", "-n", "-H", "-I", "-Z", "-s", "-e", needle.toString("utf8"), "--", ...starts.map((s) => s.real)];
  const run = await runGrep(ctx, req, args, deadline, (real, line, text) => {
    const i = starts.findIndex((s) => real === s.real || real.startsWith(`${s.real}/`));
    if (i === -1) return true; // not under a start: cannot happen, grep names what it was given
    const s = starts[i]!;
    const name = real.slice(real.lastIndexOf("/") + 1);
    if ((nameFilter && !nameFilter.test(name)) || hasBinaryExtension(name)) return true;
    const tail = real.slice(s.real.length);
    hits.push({ view: s.view + tail, start: i, tail: tail.split("/"), line, text });
    if (hits.length > RECURSIVE_MATCHES) tooMany = true;
    return !tooMany;
  });
  if (tooMany) return "too-many";
  hits.sort(walkOrder);
  return { matches: hits, late: run.stopped === "time" };
}

function walkOrder(a: Hit, b: Hit): number {
  return a.start - b.start || compareWalkOrder(a.tail, b.tail) || a.line - b.line;
}

/**
 * Runs GNU grep with `args` (`-Z -n -H` output) and hands each match to `onMatch` (the real path
 * as grep printed it); `onMatch` answers false to stop grep.
 */
function runGrep(
  ctx: AgentContext,
  req: { readonly aborted: boolean },
  args: string[],
  deadline: number,
  onMatch: (real: string, line: number, text: string) => boolean,
): ReturnType<typeof runTool> {
  const reader = new FieldReader();
  let state: "path" | "line" | "text" = "path";
  let real = "";
  let line = 0;
  return runTool(ctx, GREP, args, {
    deadline,
    request: req,
    onData(chunk) {
      reader.push(chunk);
      for (;;) {
        if (state === "path") {
          const f = reader.take(0, 8192);
          if (!f) break;
          real = f.toString("utf8");
          state = "line";
        } else if (state === "line") {
          const f = reader.take(COLON, 32);
          if (!f) break;
          line = Number(f.toString("latin1"));
          state = "text";
        } else {
          const f = reader.take(NL, MAX_LINE_CHARS * 4);
          if (!f) break;
          state = "path";
          const end = !reader.cut && f[f.length - 1] === CR ? f.length - 1 : f.length;
          let text = f.toString("utf8", 0, end);
          if (text.length > MAX_LINE_CHARS) text = text.slice(0, MAX_LINE_CHARS);
          if (!onMatch(real, line, text)) return false;
        }
      }
      return true;
    },
  });
}

/**
 * GNU grep over `files` in order, a run per ARGV_BYTES of names: `-F` literal, `-I` skips binary
 * files, `-Z` ends each name with NUL (names may hold newlines), C locale (bytes). Stops when the
 * tally is done counting or the deadline passes.
 */
async function searchNatively(
  ctx: AgentContext,
  req: OpRequest<"grep">,
  files: Candidate[],
  needle: Buffer,
  deadline: number,
  tally: Tally,
  found: (view: string, line: number, text: string) => void,
): Promise<void> {
  const viewOf = new Map<string, string>();
  for (let i = 0; i < files.length; ) {
    const args = ["-F", "-n", "-H", "-I", "-Z", "-s", "-e", needle.toString("utf8"), "--"]; // the pattern is one argument
    let bytes = 0;
    viewOf.clear();
    for (; i < files.length && bytes < ARGV_BYTES; i++) {
      args.push(files[i]!.real);
      viewOf.set(files[i]!.real, files[i]!.view);
      bytes += files[i]!.real.length + 1;
    }
    const run = await runGrep(ctx, req, args, deadline, (real, line, text) => {
      const view = viewOf.get(real);
      if (!view) return true; // not a file we asked about: cannot happen with argv names
      found(view, line, text);
      return !(tally.cutBy && tally.done);
    });
    if (run.stopped) {
      tally.stop("time");
      return;
    }
  }
}

/** Reused read buffer: most files fit, and fs calls are the cost under TCG (not copies). */
let scratch = Buffer.allocUnsafe(64 * 1024);

/**
 * A file's bytes (valid until the next call): open (not following a symlink swapped in since the
 * walk; non-blocking, so a FIFO cannot stall the agent), read until EOF, close — no stat: a
 * directory fails the read, a FIFO reads nothing. Null when unreadable or too big.
 */
function readSmallRegular(real: string): Buffer | null {
  let fd: number;
  try {
    fd = openSync(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    let n = 0;
    for (;;) {
      if (n === scratch.length) {
        if (n >= MAX_FILE_BYTES) return null;
        const bigger = Buffer.allocUnsafe(Math.min(scratch.length * 4, MAX_FILE_BYTES));
        scratch.copy(bigger, 0, 0, n);
        scratch = bigger;
      }
      const got = readSync(fd, scratch, n, scratch.length - n, null);
      if (got === 0) return scratch.subarray(0, n);
      n += got;
    }
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}
