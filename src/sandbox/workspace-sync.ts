/**
 * Keeps a thread's /workspace in the WorkspaceStore. Files written through the backend are saved
 * as they are written; files that commands create, change or delete are found by diffing the
 * agent's `manifest` (size + mtime per file) after each command. A new VM for the thread gets the
 * saved files uploaded before first use (`restore`). All of it runs one step at a time.
 */
import type { FileInfo } from "../protocol/index.ts";
import type { GuestClient } from "./guest-client.ts";
import { workspaceRelative, workspaceView } from "./paths.ts";
import { workspacePrefix, type WorkspaceStore } from "./workspace-store.ts";

interface Known {
  size: number;
  mtimeMs: number;
}

/** Bytes moved per upload/download request when restoring or saving many files. */
const BATCH_BYTES = 32 * 1024 * 1024;

export interface SyncReport {
  saved: number;
  deleted: number;
}

export class WorkspaceSync {
  private readonly known = new Map<string, Known>();
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
      let batch: { path: string; data: Uint8Array }[] = [];
      let batchBytes = 0;
      let files = 0;
      let bytes = 0;
      const flush = async (): Promise<void> => {
        if (!batch.length) return;
        const { value } = await client.request("upload", { files: batch.map((f) => ({ path: f.path, size: f.data.length })) }, { body: batch.map((f) => f.data) });
        const failed = value.results.filter((r) => r.error);
        if (failed.length) throw new Error(`restoring the workspace failed for ${failed.map((f) => `${f.path} (${f.error})`).join(", ")}`);
        batch = [];
        batchBytes = 0;
      };
      for (const name of names) {
        const data = await this.store.get(name);
        if (!data) continue;
        batch.push({ path: workspaceView(name.slice(this.prefix.length)), data });
        batchBytes += data.length;
        files++;
        bytes += data.length;
        if (batchBytes >= BATCH_BYTES) await flush();
      }
      await flush();
      this.known.clear();
      for (const f of await this.manifest(client)) this.known.set(f.rel, f);
      return { files, bytes };
    });
  }

  /** A file the backend wrote or edited (bytes known): save it. */
  saved(view: string, data: Uint8Array, stat: Known): Promise<void> {
    const rel = workspaceRelative(view);
    if (rel === null) return Promise.resolve();
    return this.exclusive(async () => {
      await this.store.put(this.prefix + rel, data);
      this.known.set(rel, { size: stat.size, mtimeMs: stat.mtimeMs });
    });
  }

  /** A path the backend deleted (file or directory): forget it and everything under it. */
  removed(view: string): Promise<void> {
    const rel = workspaceRelative(view);
    if (rel === null) return Promise.resolve();
    return this.exclusive(async () => {
      for (const k of [...this.known.keys()]) {
        if (k === rel || k.startsWith(`${rel}/`)) {
          await this.store.delete(this.prefix + k);
          this.known.delete(k);
        }
      }
    });
  }

  /** After a command: save what it created or changed under /workspace, drop what it deleted. */
  afterCommand(client: GuestClient): Promise<SyncReport> {
    return this.exclusive(async () => {
      const { files, truncated } = await this.manifestRaw(client);
      const now = new Map(files.map((f) => [f.rel, f]));
      const changed = files.filter((f) => {
        const k = this.known.get(f.rel);
        return !k || k.size !== f.size || k.mtimeMs !== f.mtimeMs;
      });
      await this.fetchAndSave(client, changed);
      let deleted = 0;
      if (!truncated) {
        for (const rel of [...this.known.keys()]) {
          if (now.has(rel)) continue;
          await this.store.delete(this.prefix + rel);
          this.known.delete(rel);
          deleted++;
        }
      }
      return { saved: changed.length, deleted };
    });
  }

  /**
   * Downloads and saves files. Each is recorded with the stat it had *before* the download, so a
   * change racing the download shows up as a difference at the next diff.
   */
  private async fetchAndSave(client: GuestClient, items: (Known & { view: string })[]): Promise<void> {
    for (let i = 0; i < items.length; ) {
      const batch: (Known & { view: string })[] = [];
      let bytes = 0;
      while (i < items.length && (batch.length === 0 || bytes + items[i]!.size <= BATCH_BYTES)) {
        bytes += items[i]!.size;
        batch.push(items[i++]!);
      }
      const { value, data } = await client.request("download", { paths: batch.map((b) => b.view) });
      const parts = new Map<number, Buffer[]>();
      for (const d of data) {
        if (d.part === undefined) continue;
        let list = parts.get(d.part);
        if (!list) parts.set(d.part, (list = []));
        list.push(d.bytes);
      }
      for (let p = 0; p < value.files.length && p < batch.length; p++) {
        const f = value.files[p]!;
        const rel = workspaceRelative(batch[p]!.view);
        if (rel === null) continue;
        if (f.error) {
          // Gone between manifest and download: the next diff notices the deletion.
          continue;
        }
        const bytes = Buffer.concat(parts.get(p) ?? []);
        await this.store.put(this.prefix + rel, bytes);
        this.known.set(rel, { size: batch[p]!.size, mtimeMs: batch[p]!.mtimeMs });
      }
    }
  }

  private async manifest(client: GuestClient): Promise<(Known & { rel: string; view: string })[]> {
    return (await this.manifestRaw(client)).files;
  }

  private async manifestRaw(client: GuestClient): Promise<{ files: (Known & { rel: string; view: string })[]; truncated: boolean }> {
    const { value } = await client.request("manifest", { path: "/workspace" });
    const files: (Known & { rel: string; view: string })[] = [];
    for (const f of value.files as FileInfo[]) {
      const rel = workspaceRelative(f.path);
      if (rel !== null) files.push({ rel, view: f.path, size: f.size, mtimeMs: f.mtimeMs });
    }
    return { files, truncated: value.truncated };
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => {});
    return run;
  }
}
