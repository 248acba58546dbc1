/**
 * `grep`: literal search done in the agent (no shell, no regex): the pattern is data. Binary files
 * (by extension or a NUL byte) and very large files are skipped; matches are capped.
 */
import { readFileSync } from "node:fs";
import { basename, relative, sep } from "node:path";
import { bad, optInt, optStr, str } from "../args.ts";
import { hasBinaryExtension, looksBinary } from "../binary.ts";
import { lstatSafe } from "../confine.ts";
import type { AgentContext } from "../context.ts";
import { globToRegExp } from "../glob-match.ts";
import type { RequestContext } from "../handlers.ts";
import type { GrepMatch, GrepResult } from "../protocol.ts";
import { walk } from "./fs-list.ts";
import { searchStarts } from "./search-roots.ts";

const DEFAULT_MAX_COUNT = 10_000;
const MAX_FILE_BYTES = 32 * 1024 * 1024;
/** Longest line text returned per match. */
const MAX_LINE_CHARS = 4000;
const WALK_LIMIT = 500_000;

export async function handleGrep(ctx: AgentContext, req: RequestContext): Promise<GrepResult> {
  const pattern = str(req.args, "pattern");
  if (pattern === "") throw bad("pattern must not be empty");
  if (pattern.includes("\n")) return { matches: [], truncated: false }; // lines never contain "\n"
  const glob = optStr(req.args, "glob");
  const nameFilter = glob ? globToRegExp(glob) : null;
  const maxCount = optInt(req.args, "maxCount", 1) ?? DEFAULT_MAX_COUNT;
  const matches: GrepMatch[] = [];
  let truncated = false;

  const searchFile = async (real: string, view: string): Promise<void> => {
    if (hasBinaryExtension(real) || (nameFilter && !nameFilter.test(basename(real)))) return;
    // lstat + one UTF-8 read: under TCG every fs call costs about a millisecond of JS and syscalls.
    const st = lstatSafe(real);
    if (!st?.isFile() || st.size > MAX_FILE_BYTES) return;
    let text: string;
    try {
      text = readFileSync(real, "utf8");
    } catch {
      return;
    }
    if (looksBinary(text)) return;
    let line = 1;
    let scanned = 0; // newlines counted up to here
    let at = text.indexOf(pattern, 0);
    while (at !== -1) {
      for (let nl = text.indexOf("\n", scanned); nl !== -1 && nl < at; nl = text.indexOf("\n", nl + 1)) {
        line++;
        scanned = nl + 1;
      }
      const lineStart = scanned;
      let lineEnd = text.indexOf("\n", at);
      if (lineEnd === -1) lineEnd = text.length;
      if (matches.length >= maxCount) {
        truncated = true;
        return;
      }
      let lineText = text.slice(lineStart, lineEnd);
      if (lineText.endsWith("\r")) lineText = lineText.slice(0, -1);
      if (lineText.length > MAX_LINE_CHARS) lineText = lineText.slice(0, MAX_LINE_CHARS);
      matches.push({ path: view, line, text: lineText });
      at = text.indexOf(pattern, lineEnd + 1);
    }
  };

  for (const s of await searchStarts(ctx, optStr(req.args, "path") ?? "/")) {
    if (s.isFile) {
      await searchFile(s.real, s.view);
      continue;
    }
    const files: string[] = [];
    truncated ||= await walk(s.real, req.signal, WALK_LIMIT, (path, entry) => {
      if (entry.isFile()) files.push(path);
    });
    for (const f of files) {
      await searchFile(f, `${s.view}/${relative(s.real, f).split(sep).join("/")}`);
      if (truncated) break;
    }
    if (truncated) break;
  }
  return { matches, truncated };
}
