/**
 * `grep`: literal search done in the agent (no shell, no regex): the pattern is data. Binary files
 * (by extension or a NUL byte) and very large files are skipped; matches are capped. Files are
 * searched as bytes (Buffer.indexOf on the pattern's UTF-8): each is read once and only matched
 * lines are decoded.
 */
import { closeSync, constants, openSync, readSync } from "node:fs";
import { basename } from "node:path";
import { bad, optInt, optStr, str } from "../args.ts";
import { hasBinaryExtension } from "../binary.ts";
import type { AgentContext } from "../context.ts";
import { compileGlob } from "../glob-match.ts";
import type { RequestContext } from "../handlers.ts";
import type { GrepMatch, GrepResult } from "../protocol.ts";
import { walk } from "./fs-list.ts";
import { searchStarts } from "./search-roots.ts";

const DEFAULT_MAX_COUNT = 10_000;
const MAX_FILE_BYTES = 32 * 1024 * 1024;
/** Longest line text returned per match. */
const MAX_LINE_CHARS = 4000;
const WALK_LIMIT = 500_000;
/** Bytes looked at for a NUL that marks a binary file. */
const BINARY_SNIFF = 8192;
const NL = 0x0a;
const CR = 0x0d;

export async function handleGrep(ctx: AgentContext, req: RequestContext): Promise<GrepResult> {
  const pattern = str(req.args, "pattern");
  if (pattern === "") throw bad("pattern must not be empty");
  if (pattern.includes("\n")) return { matches: [], truncated: false }; // lines never contain "\n"
  const needle = Buffer.from(pattern, "utf8");
  const glob = optStr(req.args, "glob");
  const nameFilter = glob ? compileGlob(glob) : null;
  const maxCount = optInt(req.args, "maxCount", 1) ?? DEFAULT_MAX_COUNT;
  const matches: GrepMatch[] = [];
  let truncated = false;

  /** Searches one file's bytes; false once maxCount is reached. */
  const searchFile = (real: string, view: string): boolean => {
    if (nameFilter && !nameFilter.test(basename(real))) return true;
    // Cached: text that passed the checks below, or null for a file that did not.
    let bytes = ctx.tree.content(real);
    if (bytes === undefined) {
      if (hasBinaryExtension(real)) return true;
      const read = readSmallRegular(real);
      // Like git and grep: a NUL byte near the start marks binary content.
      bytes = read && !read.subarray(0, BINARY_SNIFF).includes(0) ? read : null;
      ctx.tree.keep(real, bytes);
    }
    if (!bytes) return true;
    let at = bytes.indexOf(needle);
    if (at === -1) return true;
    let line = 1;
    let scanned = 0; // newlines counted up to here
    while (at !== -1) {
      for (let nl = bytes.indexOf(NL, scanned); nl !== -1 && nl < at; nl = bytes.indexOf(NL, nl + 1)) {
        line++;
        scanned = nl + 1;
      }
      if (matches.length >= maxCount) {
        truncated = true;
        return false;
      }
      let lineEnd = bytes.indexOf(NL, at);
      if (lineEnd === -1) lineEnd = bytes.length;
      // Only matched lines are decoded.
      let lineText = bytes.toString("utf8", scanned, bytes[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd);
      if (lineText.length > MAX_LINE_CHARS) lineText = lineText.slice(0, MAX_LINE_CHARS);
      matches.push({ path: view, line, text: lineText });
      at = bytes.indexOf(needle, lineEnd + 1);
    }
    return true;
  };

  await ctx.tree.settle();
  for (const s of searchStarts(ctx, optStr(req.args, "path") ?? "/")) {
    if (s.isFile) {
      searchFile(s.real, s.view);
      continue;
    }
    // Files are searched as the walk finds them, so maxCount ends the walk too.
    truncated ||= await walk(ctx.tree, s.real, req, WALK_LIMIT, (path, entry) => {
      if (entry.kind !== "file") return;
      // walk() builds each path as `${dir}/${name}` from s.real: the rest is the view's tail.
      return searchFile(path, s.view + path.slice(s.real.length));
    });
    if (truncated) break;
  }
  return { matches, truncated };
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
