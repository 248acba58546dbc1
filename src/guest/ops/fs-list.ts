/** `ls`, `stat` and `manifest` (every regular file under a directory, for persistence diffs). */
import { statSync, type Stats } from "node:fs";
import { optInt, optStr } from "../args.ts";
import { confine, viewOf } from "../confine.ts";
import type { AgentContext } from "../context.ts";
import { AgentError, toAgentError } from "../errors.ts";
import type { RequestContext } from "../handlers.ts";
import { ErrorCode, type FileInfo, type LsResult, type ManifestResult } from "../protocol.ts";
import { kindOf, type CachedEntry, type TreeCache } from "../tree-cache.ts";
import { resolveViewPath } from "../view-path.ts";
import { setImmediate as nextTurn } from "node:timers/promises";

export function infoOf(path: string, st: Stats): FileInfo {
  const type = kindOf(st);
  return { path, type, size: type === "file" ? st.size : 0, mtimeMs: st.mtimeMs };
}

export async function handleLs(ctx: AgentContext, req: RequestContext): Promise<LsResult> {
  const lexical = resolveViewPath(req.args.path, ctx.roots);
  if (lexical.ok && lexical.root === null) {
    // The top of the view: its roots (the offload folders live inside /workspace).
    const entries: FileInfo[] = [];
    for (const root of ctx.roots) {
      if (root.real.startsWith(`${ctx.roots.find((r) => r.path === "/workspace")?.real}/`)) continue;
      const st = statSafe(root.real);
      if (st) entries.push(infoOf(root.path, st));
    }
    return { entries };
  }
  await ctx.tree.settle();
  const { real, view } = confine(ctx, req.args.path, "read");
  let listed: CachedEntry[];
  try {
    listed = ctx.tree.list(real);
  } catch (err) {
    throw toAgentError(err, view);
  }
  const base = view === "/" ? "" : view;
  const entries: FileInfo[] = [];
  // A root nested in this directory (/workspace/.large_tool_results) is listed at "/" instead.
  const nested = ctx.roots.filter((r) => r.real.lastIndexOf("/") === real.length && r.real.startsWith(real)).map((r) => r.real.slice(real.length + 1));
  for (const e of listed) {
    if (nested.length && nested.includes(e.name)) continue;
    // Sorted by name, so sorted by path.
    entries.push(infoOfEntry(`${base}/${e.name}`, e));
  }
  return { entries };
}

export function infoOfEntry(path: string, e: CachedEntry): FileInfo {
  return { path, type: e.kind, size: e.size, mtimeMs: e.mtimeMs };
}

export async function handleStat(ctx: AgentContext, req: RequestContext): Promise<FileInfo> {
  const { real, view } = confine(ctx, req.args.path, "read");
  try {
    return infoOf(view, statSync(real));
  } catch (err) {
    throw toAgentError(err, view);
  }
}

export function statSafe(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

const YIELD_EVERY = 2000;

/** Default cap on manifest entries; a workspace bigger than this is reported `truncated`. */
const MANIFEST_LIMIT = 100_000;

export async function handleManifest(ctx: AgentContext, req: RequestContext): Promise<ManifestResult> {
  const { real, view } = confine(ctx, optStr(req.args, "path") ?? "/workspace", "read");
  const limit = optInt(req.args, "limit", 1) ?? MANIFEST_LIMIT;
  const files: FileInfo[] = [];
  await ctx.tree.settle();
  const truncated = await walk(ctx.tree, real, req, limit, (path, entry) => {
    if (entry.kind !== "file") return;
    const v = viewOf(ctx, path);
    if (v) files.push(infoOfEntry(v, entry));
  });
  if (!files.length && !statSafe(real)) throw new AgentError(ErrorCode.FileNotFound, `${view}: no such directory`);
  return { files, truncated };
}

/**
 * Depth-first walk in name order that never follows symlinks (they are reported, not entered).
 * Calls `visit` with each entry's path and listing (from the tree cache: callers `settle()` it
 * first); returns true when it stopped at `limit` entries or when `visit` returned false.
 */
export async function walk(
  tree: TreeCache,
  dir: string,
  request: { readonly aborted: boolean },
  limit: number,
  visit: (path: string, entry: CachedEntry) => void | boolean,
): Promise<boolean> {
  const stack = [dir];
  let seen = 0;
  let sinceYield = 0;
  while (stack.length) {
    // Let other requests (and `cancel`) in now and then: the walk itself is synchronous.
    if (sinceYield > YIELD_EVERY) {
      sinceYield = 0;
      await nextTurn();
    }
    if (request.aborted) throw new AgentError(ErrorCode.Cancelled, "cancelled");
    const current = stack.pop()!;
    let entries: CachedEntry[];
    try {
      entries = tree.list(current);
    } catch {
      entries = [];
    }
    const dirs: string[] = [];
    for (const entry of entries) {
      sinceYield++;
      // Plain concatenation: path.join normalises, and `current` is already normal.
      const path = `${current}/${entry.name}`;
      if (++seen > limit) return true;
      if (visit(path, entry) === false) return true;
      if (entry.kind === "dir") dirs.push(path);
    }
    for (let i = dirs.length - 1; i >= 0; i--) stack.push(dirs[i]!);
  }
  return false;
}
