/**
 * Keeps a thread's /workspace in the WorkspaceStore. Files written through the backend are saved
 * as they are written; files that commands create, change or delete are found by diffing the
 * agent's `manifest` (size + mtime per file, fetched in pages) after each command, and saved or
 * deleted many at a time. The agent answers with only what changed since the last manifest when
 * its change log has it (see the guest's tree-cache.ts), so the cost follows the change, not the
 * workspace; a full listing comes after any failure and every FULL_LISTING_EVERY syncs. A new VM
 * for the thread gets the saved files uploaded before first use (`restore`). Steps run one at a time (a step's own saves run concurrently).
 *
 * Never silent: a file that could not be saved or deleted stays different from what is known, so
 * the next command's diff tries it again, and the step throws a `workspace_unsaved` GuestError saying how
 * many files are not persisted and why — the backend shows it to the agent and the user.
 */
import type { FileInfo } from "../protocol/index.ts";
import type { GuestClient } from "./guest-client.ts";
import { GuestError, GuestErrorCode } from "./guest-error.ts";
import { workspaceRelative, workspaceView } from "./paths.ts";
import { workspacePrefix, type WorkspaceStore } from "./ports.ts";

interface Known {
  size: number;
  mtimeMs: number;
}

type Listed = Known & { rel: string; view: string };

/** Bytes moved per upload/download request when restoring or saving many files. */
const BATCH_BYTES = 32 * 1024 * 1024;
/** Files per download request (each is read by the agent: keep one request short). */
const BATCH_FILES = 2000;
/** Store operations in flight at once (each is a few round trips to NATS). */
const STORE_CONCURRENCY = 24;
/** Files per manifest page (a page is a few MiB at most). */
const MANIFEST_PAGE = 20_000;
/**
 * Syncs answered from the agent's change log in a row, after which the workspace is listed whole
 * again: a guard against a flaw in the log (a full listing reads the same cache, so it does not
 * catch what inotify never reports).
 */
const FULL_LISTING_EVERY = 32;

export interface SyncReport {
  saved: number;
  deleted: number;
  /** How /workspace was looked at: only what changed (the agent's change log), or all of it. */
  listed: "changes" | "all";
  /** Files the manifest named (all of them, or those under the changed paths). */
  files: number;
  /** Where the time went (ms): listing the workspace, downloads from the VM, store writes. */
  phases: { manifest: number; download: number; store: number };
}

export class WorkspaceSync {
  private readonly known = new Map<string, Known>();
  /** The agent's token for "what changed since the last listing" (none: list everything). */
  private token: string | undefined;
  private fromLog = 0;
  private tail: Promise<unknown> = Promise.resolve();
  readonly prefix: string;

  constructor(
    private readonly store: WorkspaceStore,
    threadId: string,
  ) {
    this.prefix = workspacePrefix(threadId);
  }

  /** Uploads every saved file into a fresh VM, then records what the VM now has. */
  restore(client: GuestClient): Promise<{ files: number; bytes: number }> {
    return this.exclusive(async () => {
      const names = await this.store.list(this.prefix);
      let files = 0;
      let bytes = 0;
      // Fetched concurrently a window at a time, uploaded in order in batches.
      for (let i = 0; i < names.length; ) {
        const window: string[] = [];
        let guess = 0;
        while (i < names.length && window.length < STORE_CONCURRENCY * 8 && guess < BATCH_BYTES) {
          window.push(names[i++]!);
          guess += 64 * 1024;
        }
        const got = await mapLimit(window, STORE_CONCURRENCY, (name) => this.store.get(name));
        const batch: { path: string; data: Uint8Array }[] = [];
        for (let k = 0; k < window.length; k++) {
          const data = got[k];
          if (!data) continue;
          batch.push({ path: workspaceView(window[k]!.slice(this.prefix.length)), data });
          files++;
          bytes += data.length;
        }
        await this.upload(client, batch);
      }
      this.known.clear();
      this.token = undefined;
      // Cut short (the guest's time budget), the rest is unknown: the next diff saves it again.
      for (const f of (await this.manifest(client)).files) this.known.set(f.rel, f);
      return { files, bytes };
    });
  }

  /** A file the backend wrote or edited (bytes known): save it. */
  saved(view: string, data: Uint8Array, stat: Known): Promise<void> {
    const rel = workspaceRelative(view);
    if (rel === null) return Promise.resolve();
    return this.exclusive(async () => {
      try {
        await this.store.put(this.prefix + rel, data);
      } catch (err) {
        this.token = undefined; // the next sync lists everything, and saves this file again
        throw err;
      }
      this.known.set(rel, { size: stat.size, mtimeMs: stat.mtimeMs });
    });
  }

  /** A path the backend deleted (file or directory): forget it and everything under it. */
  removed(view: string): Promise<void> {
    const rel = workspaceRelative(view);
    if (rel === null) return Promise.resolve();
    return this.exclusive(async () => {
      const gone = [...this.known.keys()].filter((k) => k === rel || k.startsWith(`${rel}/`));
      const failed = await this.deleteAll(gone);
      if (failed.length) {
        this.token = undefined; // the next sync lists everything, and deletes these again
        throw syncError(failed, gone.length, "deleted");
      }
    });
  }

  /**
   * After a command: save what it created or changed under /workspace, drop what it deleted.
   * Throws a `workspace_unsaved` GuestError when any of it could not be persisted (retried next time).
   */
  afterCommand(client: GuestClient): Promise<SyncReport> {
    return this.exclusive(async () => {
      const phases = { manifest: 0, download: 0, store: 0 };
      const t0 = performance.now();
      const { files, complete, scopes } = await this.manifest(client);
      phases.manifest = performance.now() - t0;
      const changed = files.filter((f) => {
        const k = this.known.get(f.rel);
        return !k || k.size !== f.size || k.mtimeMs !== f.mtimeMs;
      });
      const failed = await this.fetchAndSave(client, changed, phases);
      let deleted = 0;
      let gone: string[] = [];
      if (complete) {
        const now = new Set(files.map((f) => f.rel));
        // A change log's answer speaks only for its scopes: known files elsewhere are unchanged.
        const inScope = scopes && new Set(scopes);
        gone = [...this.known.keys()].filter((rel) => !now.has(rel) && (inScope === null || underAny(rel, inScope)));
        const notDeleted = await this.deleteAll(gone);
        deleted = gone.length - notDeleted.length;
        failed.push(...notDeleted);
      }
      // What failed is retried by the next sync: a full listing, since the change log moved on.
      if (failed.length || !complete) this.token = undefined;
      if (failed.length) throw syncError(failed, changed.length + gone.length, "persisted");
      if (!complete) throw new GuestError(GuestErrorCode.WorkspaceUnsaved, "/workspace could not be listed completely within the guest's budget: files beyond the listing were not saved (retried after the next command)");
      return { saved: changed.length, deleted, listed: scopes ? "changes" : "all", files: files.length, phases };
    });
  }

  /**
   * Downloads and saves files; returns those that could not be saved. Each is recorded with the
   * stat it had *before* the download, so a change racing the download shows up at the next diff.
   */
  private async fetchAndSave(client: GuestClient, all: Listed[], phases: SyncReport["phases"]): Promise<Failure[]> {
    const failed: Failure[] = [];
    const timed = async (phase: "download" | "store", fn: () => Promise<unknown>): Promise<void> => {
      const t = performance.now();
      await fn();
      phases[phase] += performance.now() - t;
    };
    const save = async (b: Listed, bytes: Uint8Array): Promise<void> => {
      try {
        await this.store.put(this.prefix + b.rel, bytes, { isNew: !this.known.has(b.rel) });
        this.known.set(b.rel, { size: b.size, mtimeMs: b.mtimeMs });
      } catch (err) {
        failed.push({ rel: b.rel, error: err as Error });
      }
    };
    // Empty files need no download.
    await timed("store", () => mapLimit(all.filter((f) => f.size === 0), STORE_CONCURRENCY, (b) => save(b, new Uint8Array(0))));
    const items = all.filter((f) => f.size > 0);
    for (let i = 0; i < items.length; ) {
      const batch: Listed[] = [];
      let bytes = 0;
      while (i < items.length && (batch.length === 0 || (bytes + items[i]!.size <= BATCH_BYTES && batch.length < BATCH_FILES))) {
        bytes += items[i]!.size;
        batch.push(items[i++]!);
      }
      const t = performance.now();
      const { value, data } = await client.request("download", { paths: batch.map((b) => b.view) });
      phases.download += performance.now() - t;
      const parts = new Map<number, Buffer[]>();
      for (const d of data) {
        if (d.part === undefined) continue;
        let list = parts.get(d.part);
        if (!list) parts.set(d.part, (list = []));
        list.push(d.bytes);
      }
      // Gone between manifest and download (an error): the next diff notices the deletion.
      const present = batch.map((b, p) => ({ b, p })).filter(({ p }) => p < value.files.length && !value.files[p]!.error);
      await timed("store", () => mapLimit(present, STORE_CONCURRENCY, ({ b, p }) => save(b, Buffer.concat(parts.get(p) ?? []))));
    }
    return failed;
  }

  /** Deletes these saved files from the store and from `known`; returns those that failed. */
  private async deleteAll(rels: string[]): Promise<Failure[]> {
    const results = await mapLimit(rels, STORE_CONCURRENCY, async (rel) => {
      try {
        await this.store.delete(this.prefix + rel);
        this.known.delete(rel);
        return null;
      } catch (err) {
        return { rel, error: err as Error };
      }
    });
    return results.filter((r): r is Failure => r !== null);
  }

  private async upload(client: GuestClient, batch: { path: string; data: Uint8Array }[]): Promise<void> {
    if (!batch.length) return;
    const { value } = await client.request("upload", { files: batch.map((f) => ({ path: f.path, size: f.data.length })) }, { body: batch.map((f) => f.data) });
    const failed = value.results.filter((r) => r.error);
    if (failed.length) throw new Error(`restoring the workspace failed for ${failed.map((f) => `${f.path} (${f.error})`).join(", ")}`);
  }

  /**
   * What is under /workspace: only what changed since the last listing when the agent's change
   * log has it (`scopes`: the workspace-relative paths it speaks for, "" the whole), else every
   * file, page by page; `complete` false when the guest's budget cut it.
   */
  private async manifest(client: GuestClient): Promise<{ files: Listed[]; complete: boolean; scopes: string[] | null }> {
    const files: Listed[] = [];
    const add = (list: FileInfo[]): void => {
      for (const f of list) {
        const rel = workspaceRelative(f.path);
        if (rel !== null) files.push({ rel, view: f.path, size: f.size, mtimeMs: f.mtimeMs });
      }
    };
    const since = this.fromLog < FULL_LISTING_EVERY ? this.token : undefined;
    this.token = undefined; // until an answer gives the next one
    let { value } = await client.request("manifest", { path: "/workspace", limit: MANIFEST_PAGE, since });
    if (value.scopes) {
      add(value.files);
      this.fromLog++;
      this.token = value.token;
      const scopes = value.scopes.map((v) => (v === "/workspace" ? "" : workspaceRelative(v))).filter((r): r is string => r !== null);
      return { files, complete: true, scopes: scopes.includes("") ? null : scopes };
    }
    this.fromLog = 0;
    const token = value.token;
    for (;;) {
      add(value.files);
      if (!value.truncated) {
        this.token = token; // the whole tree was listed: the log counts from the listing's start
        return { files, complete: true, scopes: null };
      }
      // Cut by its page size: ask for the next page. Cut by time or entries: as far as it got.
      if (value.cutBy !== "items" || value.files.length === 0) return { files, complete: false, scopes: null };
      ({ value } = await client.request("manifest", { path: "/workspace", limit: MANIFEST_PAGE, after: value.files.at(-1)!.path, since: token }));
    }
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => {});
    return run;
  }
}

/** True when `rel` is one of `scopes` or lies under one. */
function underAny(rel: string, scopes: Set<string>): boolean {
  for (let at = rel.length; at > 0; at = rel.lastIndexOf("/", at - 1)) if (scopes.has(rel.slice(0, at))) return true;
  return false;
}

interface Failure {
  rel: string;
  error: Error;
}

function syncError(failed: Failure[], of: number, verb: string): GuestError {
  const first = failed[0]!;
  return new GuestError(
    GuestErrorCode.WorkspaceUnsaved,
    `${failed.length} of ${of} /workspace file(s) could not be ${verb} to the thread's store (first: ${first.rel}: ${first.error.message}); ` +
      "the sandbox has them, and saving is retried after the next command",
    { cause: first.error },
  );
}

/** `fn` over `items` with at most `limit` running at once; results in the items' order. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
