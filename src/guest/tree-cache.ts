/**
 * Directory listings (with each entry's lstat) and small file contents, kept between requests and
 * invalidated by inotify (`fs.watch` on every cached directory and its ancestors).
 *
 * Why: under TCG every fs call from Node costs ~0.1–0.5 ms (most of it Node's own JS wrapper run
 * by an emulated CPU), so `ls`, `glob` and `grep` spent their time re-reading a tree that had not
 * changed. A cached answer costs no system call at all.
 *
 * When it is right: inotify reports every change made through a path under a watched directory,
 * by the agent, by commands, or by processes they left behind. Events are queued by the kernel
 * during the change itself, and readers `settle()` (one turn of the event loop, so pending events
 * are handled first) before they use the cache: a change that finished before a request was sent
 * is always seen. An event drops the directory's listing and the named entry with everything
 * under it; a directory deleted or moved, or whose watcher failed, loses its watcher too and is
 * never trusted again. What inotify cannot see is a write through a hard link in another
 * directory (nor a new link: the link count changes with no event to the directory):
 * `commandEnded()` looks again (one lstat: a write through any name changes its ctime) at every
 * cached file that had more than one link when listed, or whose inode was seen with several names
 * since — usually none, so the cache survives commands at any size (it used to be dropped past
 * 1,000 files: a cliff). A new name seen by the manifest drops the listings that hold the
 * inode's other names (`dropStaleLinks`). Not seen until that file's directory changes: a file
 * linked from outside the view (/tmp) after it was listed, then written through that name. Not
 * seen at all: a text file changed in place through a shared mmap (no event, no ctime change on
 * tmpfs). The kernel's event queue is raised at boot so that it does not overflow; a command that
 * floods it anyway makes `commandEnded()` renew the watchers too.
 *
 * The same events keep a change log for the workspace sync (`trackChanges`/`takeChanges`): the
 * paths that changed under a directory since a token, so that the manifest after a command lists
 * only those instead of the whole workspace. The log is complete only while every directory under
 * it is watched: a full listing arms it, and anything that leaves a directory unwatched without
 * an event (out of watches, a flood, `clear()`) voids it, so that the next listing is a full one.
 */
import { randomBytes } from "node:crypto";
import { lstatSync, readdirSync, watch, type FSWatcher, type Stats } from "node:fs";
import { setImmediate as nextTurn } from "node:timers/promises";

export type EntryKind = "file" | "dir" | "symlink" | "other";

/** One directory entry as listed (lstat: symlinks are entries, not followed). */
export interface CachedEntry {
  name: string;
  kind: EntryKind;
  /** Bytes, files only (0 otherwise). */
  size: number;
  mtimeMs: number;
  /** Changes with any write or link, through any name: what `commandEnded()` compares. */
  ctimeMs: number;
  /** Hard links when listed (files): only files with several names are checked after commands. */
  nlink: number;
  /** Inode: a name listed with one link is checked too once another name of it is seen. */
  ino: number;
}

interface Node {
  watcher: FSWatcher;
  /** Sorted by name; null while only watched (an ancestor of a listed directory). */
  entries: CachedEntry[] | null;
  /** Bumped by every event: a listing read before the bump is stale (see `adopt`). */
  gen: number;
}

/** What `watchMany` hands out and `adopt` checks: the watch a listing must still be under. */
export type WatchTicket = { readonly node: object; readonly gen: number };

/** What changed under `top` since `token` (real paths: each with everything under it). */
interface ChangeLog {
  top: string;
  token: string;
  /** True once a full listing that began with this log walked all of `top`. */
  armed: boolean;
  paths: Set<string>;
}

/** Directories watched at most (inotify watches are a per-user kernel resource). */
const MAX_DIRS = 4096;
/** Content kept for grep, in total and per file. */
const MAX_CONTENT_BYTES = 32 * 1024 * 1024;
const MAX_CACHED_FILE = 1024 * 1024;
/** Events during one command above which the watchers themselves are renewed. */
const FLOOD_EVENTS = 20_000;
/** Hard-linked files looked at again after a command; above this the cache is dropped instead. */
const MAX_REVALIDATE = 5000;
/** Inodes with several names remembered (beyond: only entries listed with several links count). */
const MAX_LINKED_INODES = 100_000;

export class TreeCache {
  readonly #dirs = new Map<string, Node>();
  /** real path → searchable bytes, or null for a file that is not text; oldest first. */
  readonly #content = new Map<string, Buffer | null>();
  #contentBytes = 0;
  #events = 0;
  /** Cached directories must lie under one of these (the view roots' real paths). */
  readonly #tops: string[];
  #log: ChangeLog | null = null;
  #tokens = 0;
  /** Tokens of one agent never match another's: see `reseedTokens`. */
  #epoch = randomBytes(6).toString("hex");
  /** Files with several names that the change log's answers saw outside any cached listing. */
  readonly #linked = new Map<string, CachedEntry>();
  /**
   * Inodes seen with several names. A link made to a listed file changes its link count but sends
   * no event to its directory, so its cached entry still says one link: the inode says more.
   */
  readonly #linkedInodes = new Set<number>();
  readonly #newlyLinked = new Set<number>();

  constructor(tops: string[]) {
    this.#tops = tops;
  }

  /** Lets queued inotify events be handled before the cache is read. */
  settle(): Promise<void> {
    return nextTurn();
  }

  /**
   * The entries of `dir` (a real, confined directory path), sorted by name. Throws what readdir
   * throws (ENOENT, ENOTDIR, EACCES). Entries that vanish between readdir and lstat are left out.
   */
  list(dir: string): CachedEntry[] {
    return this.listUpTo(dir, Infinity)!;
  }

  /**
   * Like `list`, but null (nothing read beyond the names) when `dir` is not cached and holds more
   * than `maxNames` entries: one lstat each from JS is the slow way to list those (tree-scan.ts).
   */
  listUpTo(dir: string, maxNames: number): CachedEntry[] | null {
    const known = this.#dirs.get(dir);
    if (known?.entries) return known.entries;
    // Watch first, then read: a change after this point is an event, and drops what is read here.
    const watched = this.#watchWithAncestors(dir);
    let entries: CachedEntry[] | null;
    try {
      entries = readEntries(dir, maxNames);
    } catch (err) {
      if (watched) this.#changed(dir, null); // not a directory (any more): watch nothing there
      throw err;
    }
    if (!entries) return null;
    const node = watched ? this.#dirs.get(dir) : undefined;
    if (node) node.entries = entries;
    this.#noteInodes(entries);
    return entries;
  }

  /**
   * Watches each of `dirs` (and its ancestors) *before* they are read by other means (a native
   * scan): a ticket per directory watched; none for those that cannot be (too many watches).
   */
  watchMany(dirs: Iterable<string>): Map<string, WatchTicket> {
    const tickets = new Map<string, WatchTicket>();
    for (const dir of dirs) {
      if (!this.#watchWithAncestors(dir)) continue;
      const node = this.#dirs.get(dir)!;
      tickets.set(dir, { node, gen: node.gen });
    }
    return tickets;
  }

  /** Caches a listing read after `ticket` was taken, unless an event came in since (then: no). */
  adopt(dir: string, entries: CachedEntry[], ticket: WatchTicket): boolean {
    const node = this.#dirs.get(dir);
    if (!node || node !== ticket.node || node.gen !== ticket.gen) return false;
    node.entries ??= entries;
    this.#noteInodes(entries);
    return true;
  }

  /**
   * Starts a change log for `top` (a real directory) as a full listing of it begins: its token.
   * The log counts only once `armChanges` says that listing walked the whole tree.
   */
  trackChanges(top: string): string {
    this.#log = { top, token: this.#nextToken(), armed: false, paths: new Set() };
    return this.#log.token;
  }

  /** The full listing that began with `token` reached its end: the log is complete from now on. */
  armChanges(token: string): void {
    if (this.#log?.token === token) this.#log.armed = true;
  }

  /**
   * The paths under `top` that changed since `token` (each with everything under it), and the
   * token to ask with next time; null when there is no complete log for that token. `undo()`
   * when the answer could not be given: the old token then stands for all of it again.
   */
  takeChanges(top: string, token: string): { paths: string[]; token: string; undo(): void } | null {
    const log = this.#log;
    if (!log || log.top !== top || log.token !== token || !log.armed) return null;
    const taken = log.paths;
    log.paths = new Set();
    log.token = this.#nextToken();
    const next = log.token;
    return {
      paths: [...taken],
      token: next,
      undo: () => {
        if (this.#log !== log || log.token !== next) return;
        for (const p of log.paths) taken.add(p);
        log.paths = taken;
        log.token = token;
      },
    };
  }

  /**
   * A file the manifest listed. One with several names (or an inode seen with several) is looked
   * at after every command, listed or not: a write through another name sends no event to its
   * directory. True when this is the first time its inode is seen with several names: its other
   * names may lie in listings that say one link, so the change log cannot vouch for them.
   */
  noteLinked(path: string, entry: CachedEntry): boolean {
    if (!this.#mayHaveOtherNames(entry)) return false;
    if (this.#linked.size >= MAX_REVALIDATE) {
      this.#logLost(path);
      return false;
    }
    this.#linked.set(path, entry);
    const isNew = entry.nlink > 1 && !this.#linkedInodes.has(entry.ino);
    this.#noteInodes([entry]);
    if (isNew) this.#newlyLinked.add(entry.ino);
    return isNew;
  }

  /**
   * The inodes `noteLinked` saw with several names for the first time may have other names in
   * listings cached before the link (one link, old size): those listings go, and their names are
   * logged as changed. One pass over the cache, whatever the number of new links.
   */
  dropStaleLinks(): void {
    if (!this.#newlyLinked.size) return;
    for (const [dir, node] of this.#dirs) {
      const stale = node.entries?.filter((e) => e.kind === "file" && this.#newlyLinked.has(e.ino));
      if (!stale?.length) continue;
      node.entries = null;
      for (const e of stale) {
        this.#dropContent(`${dir}/${e.name}`);
        this.#logChange(`${dir}/${e.name}`);
      }
    }
    this.#newlyLinked.clear();
  }

  /** A file listed with several links, or whose inode was seen with several names since. */
  #mayHaveOtherNames(e: CachedEntry): boolean {
    return e.kind === "file" && (e.nlink > 1 || this.#linkedInodes.has(e.ino));
  }

  #noteInodes(entries: CachedEntry[]): void {
    for (const e of entries) if (e.kind === "file" && e.nlink > 1 && this.#linkedInodes.size < MAX_LINKED_INODES) this.#linkedInodes.add(e.ino);
  }

  #nextToken(): string {
    return `${this.#epoch}.${++this.#tokens}`;
  }

  /**
   * Tokens given from now on start with `seed` (the host's hello): VMs restored from one snapshot
   * share the agent's memory, random state included, and must not hand out the same tokens.
   */
  reseedTokens(seed: string): void {
    this.#epoch = `${seed}-${randomBytes(6).toString("hex")}`;
  }

  /** `path` changed (with everything under it): the log records it if it lies under its top. */
  #logChange(path: string): void {
    const log = this.#log;
    if (!log) return;
    if (path === log.top || path.startsWith(`${log.top}/`)) log.paths.add(path);
    else if (log.top.startsWith(`${path}/`)) log.paths.add(log.top);
  }

  /** A directory under the log's top may be unwatched without an event: the log is void. */
  #logLost(dir: string | null): void {
    if (this.#log && (dir === null || dir === this.#log.top || dir.startsWith(`${this.#log.top}/`) || this.#log.top.startsWith(`${dir}/`))) this.#log = null;
  }

  /** How many entries the cached listings hold (budgets, tests). */
  get listedEntries(): number {
    let n = 0;
    for (const node of this.#dirs.values()) n += node.entries?.length ?? 0;
    return n;
  }

  /** The cached listing entry of `path` (its directory is listed), or undefined. */
  entry(path: string): CachedEntry | undefined {
    const slash = path.lastIndexOf("/");
    const entries = this.#dirs.get(path.slice(0, slash))?.entries;
    if (!entries) return undefined;
    const name = path.slice(slash + 1);
    // Sorted by name (UTF-16 order, as sort() and < compare).
    let lo = 0;
    let hi = entries.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const n = entries[mid]!.name;
      if (n === name) return entries[mid];
      if (n < name) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  /** True when the listing of `dir` or of any directory under it is cached. */
  knowsUnder(dir: string): boolean {
    const prefix = `${dir}/`;
    for (const [d, node] of this.#dirs) if (node.entries && (d === dir || d.startsWith(prefix))) return true;
    return false;
  }

  /** True when `dir` is a directory whose listing is cached (so it exists and is unchanged). */
  isListed(dir: string): boolean {
    return this.#dirs.get(dir)?.entries != null;
  }

  /** Largest file whose content is kept, and all kept contents together (bytes). */
  readonly maxCachedFile = MAX_CACHED_FILE;
  readonly maxContentBytes = MAX_CONTENT_BYTES;

  /** A cached file's text, null when it is known not to be text, undefined when not cached. */
  content(path: string): Buffer | null | undefined {
    return this.#content.get(path);
  }

  /**
   * Offers what was just read from `path` (null: not text); kept only while its directory's
   * listing is cached. Oldest entries go first when the budget is full.
   */
  keep(path: string, bytes: Buffer | null): void {
    const dir = path.slice(0, path.lastIndexOf("/"));
    if ((bytes && bytes.length > MAX_CACHED_FILE) || !this.isListed(dir)) return;
    const copy = bytes && Buffer.from(bytes); // callers reuse their read buffer
    this.#dropContent(path);
    this.#content.set(path, copy);
    this.#contentBytes += copy?.length ?? 0;
    for (const [p, b] of this.#content) {
      if (this.#contentBytes <= MAX_CONTENT_BYTES) break;
      this.#content.delete(p);
      this.#contentBytes -= b?.length ?? 0;
    }
  }

  /**
   * A command ended. It may have written through a hard link whose other name is in no watched
   * directory: every cached file is lstat'ed again and its directory dropped if it changed. A
   * cache too big to check is dropped whole, and a flood of events renews the watchers too.
   */
  commandEnded(): void {
    const flooded = this.#events > FLOOD_EVENTS;
    this.#events = 0;
    if (flooded) return this.clear();
    const suspects: string[] = [];
    for (const [dir, node] of this.#dirs) {
      if (!node.entries) continue;
      for (const e of node.entries) if (this.#mayHaveOtherNames(e)) suspects.push(dir);
    }
    if (suspects.length > MAX_REVALIDATE) {
      for (const node of this.#dirs.values()) node.entries = null;
      this.#content.clear();
      this.#contentBytes = 0;
      this.#logLost(null);
      return;
    }
    // Listed again by the change log's next answer (and noted again) when they changed.
    for (const [path, e] of this.#linked) {
      if (unchanged(path, e)) continue;
      this.#linked.delete(path);
      this.#logChange(path);
      this.#dropContent(path);
      const node = this.#dirs.get(path.slice(0, path.lastIndexOf("/")));
      if (node) node.entries = null;
    }
    for (const dir of new Set(suspects)) {
      const node = this.#dirs.get(dir)!;
      const entries = node.entries;
      const changed = entries?.filter((e) => this.#mayHaveOtherNames(e) && !unchanged(`${dir}/${e.name}`, e)) ?? [];
      if (!entries || !changed.length) continue;
      node.entries = null;
      for (const e of entries) this.#dropContent(`${dir}/${e.name}`);
      for (const e of changed) this.#logChange(`${dir}/${e.name}`);
    }
  }

  /** Drops everything (the agent's tests and the end of a session). */
  clear(): void {
    this.#logLost(null);
    this.#linked.clear();
    this.#linkedInodes.clear();
    for (const node of this.#dirs.values()) node.watcher.close();
    this.#dirs.clear();
    this.#content.clear();
    this.#contentBytes = 0;
  }

  /** Watches `dir` and each ancestor up to its top; false when that is not possible. */
  #watchWithAncestors(dir: string): boolean {
    const top = this.#tops.find((t) => dir === t || dir.startsWith(`${t}/`));
    if (top === undefined) return false;
    const chain: string[] = [];
    for (let d = dir; ; d = d.slice(0, d.lastIndexOf("/"))) {
      chain.push(d);
      if (d === top) break;
    }
    // Outermost first: a move of an ancestor is seen by the ancestor's watcher.
    for (let i = chain.length - 1; i >= 0; i--) {
      const d = chain[i]!;
      if (this.#dirs.has(d)) continue;
      if (this.#dirs.size >= MAX_DIRS) {
        this.#logLost(d);
        return false;
      }
      let watcher: FSWatcher;
      try {
        watcher = watch(d, { persistent: false }, (_event, name) => this.#changed(d, typeof name === "string" ? name : null));
      } catch {
        this.#logLost(d);
        return false; // no inotify here, or out of watches: serve uncached
      }
      watcher.on("error", () => this.#changed(d, null));
      this.#dirs.set(d, { watcher, entries: null, gen: 0 });
    }
    return true;
  }

  /**
   * `name` changed in `dir`: drop the listing, that entry's content and, if it is a directory, its
   * whole subtree. Events about the directory itself (deleted, moved) carry its own basename: then
   * it goes with everything below, watcher included (a child of the same name is treated alike).
   */
  #changed(dir: string, name: string | null): void {
    this.#events++;
    const self = name === null || name === dir.slice(dir.lastIndexOf("/") + 1);
    const gone = self ? dir : `${dir}/${name}`;
    this.#logChange(gone);
    const node = this.#dirs.get(dir);
    if (node) {
      node.entries = null;
      node.gen++;
    }
    const prefix = `${gone}/`;
    for (const [d, n] of this.#dirs) {
      if (d === gone || d.startsWith(prefix)) {
        n.watcher.close();
        this.#dirs.delete(d);
      }
    }
    this.#dropContent(gone);
    for (const p of this.#content.keys()) if (p.startsWith(prefix)) this.#dropContent(p);
  }

  #dropContent(path: string): void {
    const old = this.#content.get(path);
    if (old === undefined) return;
    this.#content.delete(path);
    this.#contentBytes -= old?.length ?? 0;
  }
}

export function kindOf(st: Stats): EntryKind {
  return st.isFile() ? "file" : st.isDirectory() ? "dir" : st.isSymbolicLink() ? "symlink" : "other";
}

function readEntries(dir: string, maxNames: number): CachedEntry[] | null {
  const names = readdirSync(dir);
  if (names.length > maxNames) return null;
  names.sort();
  const entries: CachedEntry[] = [];
  for (const name of names) {
    let st;
    try {
      st = lstatSync(`${dir}/${name}`);
    } catch {
      continue; // gone since readdir
    }
    const kind = kindOf(st);
    entries.push({ name, kind, size: kind === "file" ? st.size : 0, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, nlink: st.nlink, ino: st.ino });
  }
  return entries;
}

function unchanged(path: string, e: CachedEntry): boolean {
  try {
    const st = lstatSync(path);
    return st.isFile() && st.size === e.size && st.mtimeMs === e.mtimeMs && st.ctimeMs === e.ctimeMs;
  } catch {
    return false;
  }
}
