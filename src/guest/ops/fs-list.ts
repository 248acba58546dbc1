/** `ls`, `stat` and `manifest` (every regular file under a directory, for persistence diffs). */
import { statSync, type Stats } from "node:fs";
import { ErrorCode, OP_SCHEMAS, type FileInfo, type LsResult, type ManifestResult } from "../../protocol/index.ts";
import { budgetOf, Tally } from "../budget.ts";
import { confine, viewOf } from "../confine.ts";
import type { AgentContext } from "../context.ts";
import { GuestAgentError, toGuestAgentError } from "../errors.ts";
import type { OpRequest } from "../request-context.ts";
import { kindOf, type CachedEntry } from "../tree-cache.ts";
import { scanTree } from "../tree-scan.ts";
import { resolveViewPath } from "../../protocol/index.ts";
import { compareWalkOrder, walk } from "../walk.ts";

/** A directory with more entries than this is listed natively (tree-scan.ts), not by JS lstat. */
const NATIVE_LS_ENTRIES = 250;

export function infoOf(path: string, st: Stats): FileInfo {
  const type = kindOf(st);
  return { path, type, size: type === "file" ? st.size : 0, mtimeMs: st.mtimeMs };
}

export function infoOfEntry(path: string, e: CachedEntry): FileInfo {
  return { path, type: e.kind, size: e.size, mtimeMs: e.mtimeMs };
}

export async function handleLs(ctx: AgentContext, req: OpRequest<"ls">): Promise<LsResult> {
  const budget = budgetOf(req.args.limit, req.args.timeBudgetMs, OP_SCHEMAS.ls.limits.defaultLimit);
  const tally = new Tally(budget);
  const lexical = resolveViewPath(req.args.path, ctx.roots);
  if (lexical.ok && lexical.root === null) {
    // The top of the view: its roots (the offload folders live inside /workspace).
    const entries: FileInfo[] = [];
    for (const root of ctx.roots) {
      if (root.real.startsWith(`${ctx.roots.find((r) => r.path === "/workspace")?.real}/`)) continue;
      const st = statSafe(root.real);
      if (st && tally.add(root.path.length)) entries.push(infoOf(root.path, st));
    }
    return { entries, ...tally.result() };
  }
  await ctx.tree.settle();
  const { real, view } = confine(ctx, req.args.path, "read");
  let listed: CachedEntry[] | null;
  try {
    listed = ctx.tree.listUpTo(real, NATIVE_LS_ENTRIES);
  } catch (err) {
    throw toGuestAgentError(err, view);
  }
  if (!listed) {
    const scan = await scanTree(ctx, real, false, { deadline: budget.deadline, request: req, maxEntries: budget.maxEntries });
    if (!scan.complete) tally.stop(scan.stoppedBy ?? "entries");
    listed = scan.listings.get(real) ?? [];
  }
  const base = view === "/" ? "" : view;
  const entries: FileInfo[] = [];
  // A root nested in this directory (/workspace/.large_tool_results) is listed at "/" instead.
  const nested = ctx.roots.filter((r) => r.real.lastIndexOf("/") === real.length && r.real.startsWith(real)).map((r) => r.real.slice(real.length + 1));
  for (const e of listed) {
    if (nested.length && nested.includes(e.name)) continue;
    // Sorted by name, so sorted by path.
    const path = `${base}/${e.name}`;
    if (tally.add(path.length + 40)) entries.push(infoOfEntry(path, e));
  }
  return { entries, ...tally.result() };
}

export async function handleStat(ctx: AgentContext, req: OpRequest<"stat">): Promise<FileInfo> {
  const { real, view } = confine(ctx, req.args.path, "read");
  try {
    return infoOf(view, statSync(real));
  } catch (err) {
    throw toGuestAgentError(err, view);
  }
}

export function statSafe(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/**
 * Every regular file under `path`, in walk order, a page at a time: `after` (the last path of the
 * previous page) skips what came before without entering directories that lie wholly before it.
 */
export async function handleManifest(ctx: AgentContext, req: OpRequest<"manifest">): Promise<ManifestResult> {
  const { real, view } = confine(ctx, req.args.path ?? "/workspace", "read");
  const budget = budgetOf(req.args.limit, req.args.timeBudgetMs, OP_SCHEMAS.manifest.limits.defaultLimit);
  const tally = new Tally(budget);
  const after = req.args.after === undefined ? null : resolveViewPath(req.args.after, ctx.roots);
  if (after && !after.ok) throw new GuestAgentError(after.code, after.message);
  // Compared as real paths, the walk's own order (a nested root's view path is not in it).
  const afterParts = after?.ok && after.root ? (after.root.real + after.rest).split("/") : null;
  const files: FileInfo[] = [];
  await ctx.tree.settle();
  const end = await walk(ctx, real, req, budget, (path, entry) => {
    if (afterParts) {
      const parts = path.split("/");
      // A directory is entered when the cursor lies inside it or anything in it comes after the cursor.
      if (entry.kind === "dir") return isPrefix(parts, afterParts) || compareWalkOrder([...parts, ""], afterParts) > 0 ? undefined : "skip";
      if (compareWalkOrder(parts, afterParts) <= 0) return; // not after the cursor
    }
    if (entry.kind !== "file") return;
    const v = viewOf(ctx, path);
    if (!v) return;
    if (tally.add(v.length + 40)) files.push(infoOfEntry(v, entry));
    else {
      // A page is full: one more file proves there is more (the host asks for the next page).
      tally.stop("items");
      return false;
    }
  });
  if (end === "time" || end === "entries") tally.stop(end);
  if (!files.length && !statSafe(real)) throw new GuestAgentError(ErrorCode.FileNotFound, `${view}: no such directory`);
  return { files, ...tally.result() };
}

function isPrefix(dir: string[], path: string[]): boolean {
  return dir.length < path.length && dir.every((c, i) => c === path[i]);
}
