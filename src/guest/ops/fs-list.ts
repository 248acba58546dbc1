/** `ls`, `stat` and `manifest` (every regular file under a directory, for persistence diffs). */
import { statSync, type Stats } from "node:fs";
import { ErrorCode, OP_SCHEMAS, type FileInfo, type LsResult, type ManifestResult } from "../../protocol/index.ts";
import { budgetOf, Tally, type Budget } from "../budget.ts";
import { confine, lstatSafe, viewOf } from "../confine.ts";
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
 * With `since`, only what changed since that answer, when the tree cache's change log has it
 * whole and it fits one answer; else a full listing, which starts a new log.
 */
export async function handleManifest(ctx: AgentContext, req: OpRequest<"manifest">): Promise<ManifestResult> {
  const { real, view } = confine(ctx, req.args.path ?? "/workspace", "read");
  const budget = budgetOf(req.args.limit, req.args.timeBudgetMs, OP_SCHEMAS.manifest.limits.defaultLimit);
  await ctx.tree.settle();
  const { since, after: afterArg } = req.args;
  if (since !== undefined && afterArg === undefined) {
    const changes = ctx.tree.takeChanges(real, since);
    if (changes) {
      let answer: Awaited<ReturnType<typeof changedFiles>>;
      try {
        answer = await changedFiles(ctx, req, changes.paths, budget);
      } catch (err) {
        changes.undo(); // asked again with the same token, the same changes are listed
        throw err;
      }
      if (answer) return { ...answer, token: changes.token };
      // Too much for one answer: a full listing, below (the log starts again with it).
    }
  }
  const tally = new Tally(budget);
  const token = afterArg === undefined ? ctx.tree.trackChanges(real) : since;
  const after = afterArg === undefined ? null : resolveViewPath(afterArg, ctx.roots);
  if (after && !after.ok) throw new GuestAgentError(after.code, after.message);
  // Compared as real paths, the walk's own order (a nested root's view path is not in it).
  const afterParts = after?.ok && after.root ? (after.root.real + after.rest).split("/") : null;
  const files: FileInfo[] = [];
  const fileOf = filesInto(ctx, files, tally);
  const end = await walk(ctx, real, req, budget, (path, entry) => {
    if (afterParts) {
      const parts = path.split("/");
      // A directory is entered when the cursor lies inside it or anything in it comes after the cursor.
      if (entry.kind === "dir") return isPrefix(parts, afterParts) || compareWalkOrder([...parts, ""], afterParts) > 0 ? undefined : "skip";
      if (compareWalkOrder(parts, afterParts) <= 0) return; // not after the cursor
    }
    return fileOf(path, entry);
  });
  if (end === "time" || end === "entries") tally.stop(end);
  // A link found by this walk: names of it listed earlier (perhaps stale) are logged for next time.
  ctx.tree.dropStaleLinks();
  if (!files.length && !statSafe(real)) throw new GuestAgentError(ErrorCode.FileNotFound, `${view}: no such directory`);
  // The last page: the whole tree was walked (and so watched), the log is complete from here on.
  if (!tally.cutBy && token !== undefined) ctx.tree.armChanges(token);
  return { files, ...tally.result(), ...(token === undefined ? {} : { token }) };
}

/**
 * The manifest's visit: regular files in the view, as FileInfo, until the tally is full. Files
 * with several names are noted for the change log (`linked.isNew`: an inode seen so for the first time).
 */
function filesInto(ctx: AgentContext, files: FileInfo[], tally: Tally, linked = { isNew: false }): (path: string, entry: CachedEntry) => false | undefined {
  return (path, entry) => {
    if (entry.kind !== "file") return;
    if (ctx.tree.noteLinked(path, entry)) linked.isNew = true;
    const v = viewOf(ctx, path);
    if (!v) return;
    if (tally.add(v.length + 40)) files.push(infoOfEntry(v, entry));
    else {
      // A page is full: one more file proves there is more (the host asks for the next page).
      tally.stop("items");
      return false;
    }
  };
}

/** Changed paths in one directory above which that directory is listed whole instead. */
const MANY_CHANGES_IN_DIR = 64;

/**
 * The files under each changed path (outermost only; many in one directory: that directory),
 * with the paths as scopes; null when they do not fit one answer.
 */
async function changedFiles(ctx: AgentContext, req: OpRequest<"manifest">, paths: string[], budget: Budget): Promise<Pick<ManifestResult, "files" | "scopes" | "truncated" | "total"> | null> {
  const perDir = new Map<string, number>();
  for (const p of paths) {
    const dir = p.slice(0, p.lastIndexOf("/"));
    perDir.set(dir, (perDir.get(dir) ?? 0) + 1);
  }
  const wanted = paths.map((p) => {
    const dir = p.slice(0, p.lastIndexOf("/"));
    return perDir.get(dir)! > MANY_CHANGES_IN_DIR ? dir : p;
  });
  // Outermost only: a path under another changed path is listed with it.
  const all = new Set(wanted);
  const scopes = [...all].filter((p) => {
    for (let at = p.lastIndexOf("/"); at > 0; at = p.lastIndexOf("/", at - 1)) if (all.has(p.slice(0, at))) return false;
    return true;
  });
  scopes.sort((a, b) => compareWalkOrder(a.split("/"), b.split("/")));
  const tally = new Tally(budget);
  const files: FileInfo[] = [];
  // A file newly linked: its other names may be anywhere (a full listing finds those in the tree).
  const linked = { isNew: false };
  const fileOf = filesInto(ctx, files, tally, linked);
  for (const scope of scopes) {
    const st = lstatSafe(scope);
    if (st?.isFile()) fileOf(scope, { name: "", kind: "file", size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, nlink: st.nlink, ino: st.ino });
    else if (st?.isDirectory()) {
      const end = await walk(ctx, scope, req, budget, fileOf);
      if (end === "time" || end === "entries") return null;
    }
    if (linked.isNew) {
      ctx.tree.dropStaleLinks(); // so that the full listing instead reads the other names afresh
      return null;
    }
    if (tally.cutBy) return null;
  }
  return { files, scopes: scopes.map((s) => viewOf(ctx, s)).filter((v): v is string => v !== undefined), truncated: false, total: files.length };
}

function isPrefix(dir: string[], path: string[]): boolean {
  return dir.length < path.length && dir.every((c, i) => c === path[i]);
}
