/** `glob`: walk (never following symlinks) and match paths relative to the search base. */
import { posix } from "node:path";
import { optInt, optStr, str } from "../args.ts";
import type { AgentContext } from "../context.ts";
import { compileGlob, literalPrefix } from "../glob-match.ts";
import type { RequestContext } from "../handlers.ts";
import { AgentError } from "../errors.ts";
import { ErrorCode, type FileInfo, type GlobResult } from "../protocol.ts";
import { infoOfEntry, walk } from "./fs-list.ts";
import { searchStarts } from "./search-roots.ts";

const DEFAULT_LIMIT = 10_000;
/** Entries visited before a walk gives up (a huge tree must not stall the agent). */
const WALK_LIMIT = 500_000;

export async function handleGlob(ctx: AgentContext, req: RequestContext): Promise<GlobResult> {
  let pattern = str(req.args, "pattern");
  let base = optStr(req.args, "path") ?? "/";
  const limit = optInt(req.args, "limit", 1) ?? DEFAULT_LIMIT;
  if (pattern.startsWith("/")) {
    base = "/";
    pattern = pattern.replace(/^\/+/, "");
  }
  const { dir, rest } = literalPrefix(pattern);
  const start = posix.join(base.startsWith("/") ? base : `/workspace/${base}`, dir);
  const regex = compileGlob(rest);
  const paths: FileInfo[] = [];
  let truncated = false;
  let starts;
  await ctx.tree.settle();
  try {
    starts = searchStarts(ctx, start);
  } catch (err) {
    // The pattern's fixed directory part does not exist: nothing matches (as with any glob).
    if (err instanceof AgentError && (err.code === ErrorCode.FileNotFound || err.code === ErrorCode.NotDirectory)) return { paths: [], truncated: false };
    throw err;
  }
  for (const s of starts) {
    // Relative to `start`: for "/" that includes the root's name ("workspace/a.py").
    const prefix = start === "/" ? s.view.slice(1) + "/" : "";
    if (s.isFile) continue;
    const cut = await walk(ctx.tree, s.real, req, WALK_LIMIT, (path, entry) => {
      if (entry.kind !== "file") return;
      const rel = path.slice(s.real.length + 1); // walk() builds `${dir}/${name}` from s.real
      if (!regex.test(prefix + rel)) return;
      if (paths.length >= limit) {
        truncated = true;
        return false;
      }
      paths.push(infoOfEntry(`${s.view}/${rel}`, entry));
    });
    truncated ||= cut;
    if (truncated) break;
  }
  paths.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { paths, truncated };
}
