/**
 * Lists a whole directory tree (or one big directory) with GNU `find` in one process instead of one
 * JS lstat per entry (see native-tool.ts for why), and hands the listings to the tree cache.
 *
 * Never stale: the directories are watched *before* they are read (a first `find` lists only the
 * directories, which needs no stat), and a listing is cached only when no event reached its
 * directory while the scan ran (`TreeCache.adopt`); the others serve this request only, as a JS
 * listing would. Symlinks are reported, never followed (`find -P`, the default).
 */
import type { AgentContext } from "./context.ts";
import { runTool } from "./native-tool.ts";
import type { CachedEntry, EntryKind } from "./tree-cache.ts";

export interface ScanLimits {
  deadline: number;
  request: { readonly aborted: boolean };
  /** Entries read at most; past it the scan stops (`complete: false`). */
  maxEntries: number;
}

export interface Scan {
  /** Directory (real path) → its entries sorted by name. Unreadable directories are absent. */
  listings: Map<string, CachedEntry[]>;
  /** False when a limit stopped it: directories may be missing or partly listed (not cached). */
  complete: boolean;
  stoppedBy: "time" | "entries" | null;
}

const FIND = "/usr/bin/find";
/** find's output read at most (~100 bytes an entry: 500,000 entries fit). */
const OUTPUT_BYTES = 64 * 1024 * 1024;
/** type, size, mtime, ctime, links, inode, then the path (anything but NUL). */
const FORMAT = "%y %s %T@ %C@ %n %i %p\\0";

/** Scans `top` (a real, confined directory): the whole tree, or only its own entries. */
export async function scanTree(ctx: AgentContext, top: string, recursive: boolean, limits: ScanLimits): Promise<Scan> {
  const depthArgs = recursive ? [] : ["-maxdepth", "1"];
  // 1. The directories, to watch before anything in them is read.
  const dirs: string[] = [];
  if (recursive) {
    const r = await runTool(ctx, FIND, [top, "-type", "d", "-print0"], {
      ...limits,
      stdoutToFile: { maxBytes: OUTPUT_BYTES },
      onData(all) {
        for (const path of records(all)) dirs.push(path);
        return dirs.length <= limits.maxEntries;
      },
    });
    if (r.stopped === "time") return { listings: new Map(), complete: false, stoppedBy: "time" };
  } else {
    dirs.push(top);
  }
  const tickets = ctx.tree.watchMany(dirs);

  // 2. Every entry with what lstat says.
  const listings = new Map<string, CachedEntry[]>();
  for (const d of dirs) listings.set(d, []);
  let entries = 0;
  const run = await runTool(ctx, FIND, [top, "-mindepth", "1", ...depthArgs, "-printf", FORMAT], {
    ...limits,
    stdoutToFile: { maxBytes: OUTPUT_BYTES },
    onData(all) {
      for (const rec of records(all)) {
        const e = parseRecord(rec, listings);
        if (e && ++entries >= limits.maxEntries) return false;
      }
      return true;
    },
  });
  const complete = run.stopped === null;
  for (const list of listings.values()) list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // Let the events of changes made during the scan reach the cache before it adopts anything.
  await ctx.tree.settle();
  if (complete) {
    for (const [dir, list] of listings) {
      const ticket = tickets.get(dir);
      // find says nothing about a directory it could not read but an error: never cache "empty" then.
      if (ticket && (run.code === 0 || list.length > 0)) ctx.tree.adopt(dir, list, ticket);
    }
  }
  return { listings, complete, stoppedBy: run.stopped === "time" ? "time" : run.stopped === "consumer" ? "entries" : null };
}

const KINDS: Record<string, EntryKind> = { f: "file", d: "dir", l: "symlink" };

/**
 * The NUL-ended records of find's whole output (it comes at once, from a file): decoded and split
 * in one native call each, not one Buffer slice and decode per record (~10,000 of them cost most of
 * a scan's JS time under TCG). A NUL always ends a UTF-8 sequence, so decoding first is the same.
 */
function records(all: Buffer): string[] {
  const list = all.toString("utf8").split("\0");
  list.pop(); // after the last NUL: empty, or a record cut short (not ended)
  return list;
}

/** Adds one `find -printf FORMAT` record to its parent's listing; null when malformed. */
function parseRecord(text: string, listings: Map<string, CachedEntry[]>): CachedEntry | null {
  const fields: string[] = [];
  let at = 0;
  for (let i = 0; i < 6; i++) {
    const sp = text.indexOf(" ", at);
    if (sp === -1) return null;
    fields.push(text.slice(at, sp));
    at = sp + 1;
  }
  const path = text.slice(at);
  const slash = path.lastIndexOf("/");
  if (slash <= 0 && path[0] !== "/") return null;
  const parent = slash === 0 ? "/" : path.slice(0, slash);
  const kind = KINDS[fields[0]!] ?? "other";
  const entry: CachedEntry = {
    name: path.slice(slash + 1),
    kind,
    size: kind === "file" ? Number(fields[1]) : 0,
    mtimeMs: msOf(fields[2]!),
    ctimeMs: msOf(fields[3]!),
    nlink: Number(fields[4]),
    ino: Number(fields[5]),
  };
  let list = listings.get(parent);
  if (!list) listings.set(parent, (list = []));
  list.push(entry);
  return entry;
}

/** "1733100000.1234567890" → milliseconds exactly as Node's Stats computes them (sec·1e3 + ns/1e6). */
function msOf(t: string): number {
  const dot = t.indexOf(".");
  if (dot === -1) return Number(t) * 1e3;
  const ns = Number(t.slice(dot + 1, dot + 10).padEnd(9, "0"));
  return Number(t.slice(0, dot)) * 1e3 + ns / 1e6;
}
