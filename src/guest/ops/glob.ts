/** `glob`: walk (never following symlinks) and match paths relative to the search base. */
import { posix } from "node:path";
import { ErrorCode, OP_SCHEMAS, type FileInfo, type GlobResult } from "../../protocol/index.ts";
import { budgetOf, Tally } from "../budget.ts";
import type { AgentContext } from "../context.ts";
import { GuestAgentError } from "../errors.ts";
import { compileGlob, literalPrefix } from "../glob-match.ts";
import type { OpRequest } from "../request-context.ts";
import { walk } from "../walk.ts";
import { infoOfEntry } from "./fs-list.ts";
import { searchStarts } from "./search-roots.ts";

export async function handleGlob(ctx: AgentContext, req: OpRequest<"glob">): Promise<GlobResult> {
  let pattern = req.args.pattern;
  let base = req.args.path ?? "/";
  const budget = budgetOf(req.args.limit, req.args.timeBudgetMs, OP_SCHEMAS.glob.limits.defaultLimit);
  const tally = new Tally(budget);
  if (pattern.startsWith("/")) {
    base = "/";
    pattern = pattern.replace(/^\/+/, "");
  }
  const { dir, rest } = literalPrefix(pattern);
  const start = posix.join(base.startsWith("/") ? base : `/workspace/${base}`, dir);
  const regex = compileGlob(rest);
  const paths: FileInfo[] = [];
  let starts;
  await ctx.tree.settle();
  try {
    starts = searchStarts(ctx, start);
  } catch (err) {
    // The pattern's fixed directory part does not exist: nothing matches (as with any glob).
    if (GuestAgentError.isInstance(err, ErrorCode.FileNotFound) || GuestAgentError.isInstance(err, ErrorCode.NotDirectory)) return { paths: [], truncated: false, total: 0 };
    throw err;
  }
  for (const s of starts) {
    // Relative to `start`: for "/" that includes the root's name ("workspace/a.py").
    const prefix = start === "/" ? s.view.slice(1) + "/" : "";
    if (s.isFile) continue;
    // Past the cap, matches are still counted (for `total`) while the time budget lasts.
    const end = await walk(ctx, s.real, req, budget, (path, entry) => {
      // Directories match too, as in deepagents' sandboxes (its standard tests expect them).
      if (entry.kind !== "file" && entry.kind !== "dir") return;
      const rel = path.slice(s.real.length + 1); // walk() builds `${dir}/${name}` from s.real
      if (!regex.test(prefix + rel)) return;
      const view = `${s.view}/${rel}`;
      if (tally.add(view.length + 40)) paths.push(infoOfEntry(view, entry));
      else if (tally.total % 256 === 0 && tally.done) return false;
    });
    if (end === "time" || end === "entries" || end === "visit") {
      tally.stop(end === "visit" ? "time" : end);
      break;
    }
  }
  paths.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { paths, ...tally.result() };
}
