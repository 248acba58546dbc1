/**
 * The depth-first walk (name order, symlinks reported and never entered) that glob, grep and
 * manifest share. Listings come from the tree cache; a walk that finds much of its tree uncached
 * lists the rest natively in one go (tree-scan.ts) instead of one JS lstat per entry. It stops at
 * its budget's time and entry count, and lets other requests in now and then.
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import type { Budget } from "./budget.ts";
import type { AgentContext } from "./context.ts";
import { GuestAgentError } from "./errors.ts";
import { ErrorCode } from "../protocol/index.ts";
import type { CachedEntry } from "./tree-cache.ts";
import { scanTree } from "./tree-scan.ts";

/**
 * Why a walk ended early: `visit` said so, its entry budget, its time, or (with `jsOnly`) the tree
 * is bigger than JS should list.
 */
export type WalkEnd = "visit" | "entries" | "time" | "big" | null;

/** What `visit` may answer: false stops the walk, "skip" does not enter this directory. */
export type VisitAnswer = void | boolean | "skip";

const YIELD_EVERY = 2000;
/** Entries listed by JS in one walk before the rest of its tree is listed natively. */
const JS_LIST_ENTRIES = 250;
/** Native scans one walk may start (each covers a subtree that was not cached). */
const MAX_SCANS = 8;

export async function walk(
  ctx: AgentContext,
  dir: string,
  request: { readonly aborted: boolean },
  budget: Pick<Budget, "deadline" | "maxEntries">,
  visit: (path: string, entry: CachedEntry) => VisitAnswer,
  /** Never scan natively: end "big" where more than this many uncached entries would be listed by JS. */
  jsOnly?: number,
): Promise<WalkEnd> {
  const stack = [dir];
  let seen = 0;
  let sinceYield = 0;
  let jsListed = 0;
  const scanned = new Map<string, CachedEntry[]>();
  const scannedRoots: string[] = [];
  // The outermost directory not cached met lately: a scan covers it, not the whole walk (after a
  // command that made one new folder, only that folder is scanned).
  let uncachedTop: string | null = null;
  const under = (d: string, r: string): boolean => d === r || d.startsWith(`${r}/`);
  const listing = async (d: string): Promise<CachedEntry[] | "time" | "big"> => {
    if (ctx.tree.isListed(d)) return ctx.tree.list(d);
    if (jsOnly !== undefined) {
      let listed: CachedEntry[] | null;
      try {
        listed = ctx.tree.listUpTo(d, Math.max(0, jsOnly - jsListed));
      } catch {
        return [];
      }
      if (!listed) return "big";
      jsListed += listed.length;
      return listed;
    }
    const fromScan = scanned.get(d);
    if (fromScan) return fromScan;
    if (uncachedTop === null || !under(d, uncachedTop)) uncachedTop = d;
    const mayScan = scannedRoots.length < MAX_SCANS && !scannedRoots.some((r) => under(d, r));
    if (mayScan && jsListed > JS_LIST_ENTRIES) {
      const root = uncachedTop;
      scannedRoots.push(root);
      const scan = await scanTree(ctx, root, true, { deadline: budget.deadline, request, maxEntries: budget.maxEntries });
      if (scan.stoppedBy === "time") return "time";
      // A scan cut short may hold partial listings: use none of it (JS lists the rest).
      if (scan.complete) for (const [k, v] of scan.listings) scanned.set(k, v);
      jsListed = 0;
      if (ctx.tree.isListed(d)) return ctx.tree.list(d);
      const now = scanned.get(d);
      if (now) return now;
    }
    try {
      // A big directory: scan it (one more round of the above) rather than lstat each entry.
      const listed = ctx.tree.listUpTo(d, mayScan ? Math.max(0, JS_LIST_ENTRIES - jsListed) : Infinity);
      if (listed) {
        jsListed += listed.length;
        return listed;
      }
    } catch {
      return []; // unreadable or gone: nothing to walk there
    }
    jsListed = JS_LIST_ENTRIES + 1;
    return listing(d);
  };
  while (stack.length) {
    // Let other requests (and `cancel`) in now and then: the walk itself is synchronous.
    if (sinceYield > YIELD_EVERY) {
      sinceYield = 0;
      await nextTurn();
      if (performance.now() > budget.deadline) return "time";
    }
    if (request.aborted) throw new GuestAgentError(ErrorCode.Cancelled, "cancelled");
    const current = stack.pop()!;
    const entries = await listing(current);
    if (entries === "time" || entries === "big") return entries;
    const dirs: string[] = [];
    for (const entry of entries) {
      sinceYield++;
      // Plain concatenation: path.join normalises, and `current` is already normal.
      const path = `${current}/${entry.name}`;
      if (++seen > budget.maxEntries) return "entries";
      const answer = visit(path, entry);
      if (answer === false) return "visit";
      if (entry.kind === "dir" && answer !== "skip") dirs.push(path);
    }
    for (let i = dirs.length - 1; i >= 0; i--) stack.push(dirs[i]!);
  }
  return null;
}

/**
 * The walk's order of paths (what it visits first is smaller): a directory's own entries by name,
 * then what lies in its subdirectories, subdirectory by subdirectory in name order.
 */
export function compareWalkOrder(a: string[], b: string[]): number {
  for (let i = 0; i < a.length && i < b.length; i++) {
    if (a[i] === b[i]) continue;
    const aHere = i === a.length - 1;
    if (aHere !== (i === b.length - 1)) return aHere ? -1 : 1;
    return a[i]! < b[i]! ? -1 : 1;
  }
  return a.length - b.length;
}
