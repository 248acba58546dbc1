/**
 * `MicroVMBackend`: deepagents' `SandboxBackendProtocolV2`, implemented natively over the guest
 * agent's typed protocol. Every method is one request to the agent (never a shell string built
 * from the model's input), except `execute`, whose whole point is to run the model's command.
 *
 * Paths are confined host-side (`paths.ts`) before anything is sent, and again by the agent with
 * real paths. Results and expected failures are what deepagents' own `BaseSandbox` answers, word
 * for word (`deepagents-contract.ts`; proved against it by `test/sandbox/contract.test.ts`, which
 * lists where we differ on purpose); nothing throws into the agent loop. With a `store`, the thread's /workspace is persisted (see `workspace-sync.ts`)
 * and restored into every VM the backend attaches, including a replacement after a VM died.
 */
import type {
  EditResult,
  ExecuteResponse,
  FileDownloadResponse,
  FileInfo as DaFileInfo,
  FileOperationError,
  FileUploadResponse,
  GlobResult,
  GrepResult,
  LsResult,
  ReadRawResult,
  ReadResult,
  SandboxBackendProtocolV2,
  WriteResult,
} from "deepagents";
import type { DeleteResult } from "deepagents";
import { assertThreadId } from "../config/index.ts";
import { ErrorCode, OP_SCHEMAS, type FileInfo } from "../protocol/index.ts";
import type { GuestClient } from "./guest-client.ts";
import { GuestError, GuestErrorCode } from "./guest-error.ts";
import { EMPTY_CONTENT_WARNING, editOutcome, modifiedAt, Says } from "./deepagents-contract.ts";
import { isTextMimeType, mimeTypeOf } from "./mime.ts";
import { confinePath, workspaceRelative, type Access } from "./paths.ts";
import type { SandboxVm, VmProvider } from "./sandbox-vm.ts";
import { VmLink } from "./vm-link.ts";
import { WorkspaceSync } from "./workspace-sync.ts";
import type { WorkspaceStore } from "./ports.ts";

export interface MicroVMBackendOptions {
  /** The conversation thread this sandbox belongs to (`isThreadId`); names its persisted workspace. */
  threadId: string;
  /** The VM to use first (e.g. from `pool.acquire()`). */
  vm: SandboxVm;
  /** Brings up a replacement when the VM dies. Without it, a dead VM stays an error. */
  provider?: VmProvider;
  /** Where /workspace is persisted. Without it nothing outlives the VM. */
  store?: WorkspaceStore;
  /** `execute` timeout (deepagents has none). Default 120 s. */
  executeTimeoutMs?: number;
  /** `execute` output cap in bytes. Default 256 KiB. */
  maxOutputBytes?: number;
  /** Timeout of every file operation. Default 120 s (50 MB under TCG takes a while). */
  requestTimeoutMs?: number;
  /** How long a VM gets to answer its hello before the next one is tried. Default 60 s. */
  helloTimeoutMs?: number;
}

/** `execute`'s timeout unless the owner sets another (`VIBEWRITER_EXEC_TIMEOUT_SEC`). */
export const DEFAULT_EXECUTE_TIMEOUT_MS = 120_000;
const DEFAULT_MAX_OUTPUT = 256 * 1024;
const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;

export class MicroVMBackend implements SandboxBackendProtocolV2 {
  readonly id: string;
  readonly threadId: string;
  private readonly link: VmLink;
  private readonly sync: WorkspaceSync | null;
  private readonly executeTimeoutMs: number;
  private readonly maxOutputBytes: number;
  private readonly requestTimeoutMs: number;

  private constructor(opts: MicroVMBackendOptions) {
    assertThreadId(opts.threadId, (message) => new GuestError(GuestErrorCode.BadRequest, message));
    this.threadId = opts.threadId;
    this.id = `microvm-${opts.threadId}`;
    this.sync = opts.store ? new WorkspaceSync(opts.store, opts.threadId) : null;
    this.executeTimeoutMs = opts.executeTimeoutMs ?? DEFAULT_EXECUTE_TIMEOUT_MS;
    this.maxOutputBytes = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.link = new VmLink(opts.vm, {
      provider: opts.provider,
      helloTimeoutMs: opts.helloTimeoutMs,
      onAttach: async (client) => {
        await this.sync?.restore(client);
      },
    });
  }

  /** Attaches the VM and restores the thread's saved workspace into it. */
  static async create(opts: MicroVMBackendOptions): Promise<MicroVMBackend> {
    const backend = new MicroVMBackend(opts);
    await backend.link.client();
    return backend;
  }

  /** The VM in use now (changes after a replacement). */
  get vm(): SandboxVm | null {
    return this.link.vm;
  }

  /** Number of VMs used so far (1 + replacements). */
  get generation(): number {
    return this.link.generation;
  }

  /** The live guest client (attaching a replacement VM if the last one died). */
  guest(): Promise<GuestClient> {
    return this.link.client();
  }

  /** Kills the VM. The backend is unusable afterwards. */
  async close(): Promise<void> {
    await this.link.close();
  }

  // -------------------------------------------------------------------------------------------
  // Files
  // -------------------------------------------------------------------------------------------

  async ls(path: string): Promise<LsResult> {
    return this.run<LsResult>(path, "read", "bare", async (c, view) => {
      let entries: FileInfo[];
      try {
        ({ value: { entries } } = await c.request("ls", { path: view }, this.timeout()));
      } catch (err) {
        // BaseSandbox lists what `find` finds: nothing for a missing path or a file.
        if (isAbsent(err)) return { files: [] };
        throw err;
      }
      const shown = shownAs(path, view);
      return { files: entries.map((f) => toDaInfo(f, shown(f.path), true)) };
    });
  }

  async read(filePath: string, offset = 0, limit = OP_SCHEMAS.read.limits.defaultLineLimit): Promise<ReadResult> {
    return this.run<ReadResult>(filePath, "read", "bare", async (c, view) => {
      const mimeType = mimeTypeOf(view);
      try {
        if (!isTextMimeType(mimeType)) {
          const { data } = await c.request("read", { path: view }, this.timeout());
          return { content: new Uint8Array(concat(data)), mimeType };
        }
        const off = Number.isFinite(offset) ? Math.max(0, Math.floor(offset)) : 0;
        const lim = Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : 0;
        // A window of no lines is empty whatever the file (BaseSandbox asks nothing).
        if (lim === 0) return { content: "", mimeType };
        const { value, data } = await c.request("read", { path: view, lines: { offset: off, limit: lim } }, this.timeout());
        const total = value.totalLines ?? 0;
        if (value.size === 0) return { content: EMPTY_CONTENT_WARNING, mimeType };
        if (off >= total) return { error: Says.offsetPastEnd(off, total) };
        let content = concat(data).toString("utf8");
        const end = Math.min(off + lim, total);
        // Lines as `split("\n")` pieces joined: the final newline shows only when the window runs
        // past the last line. read_file drops it either way.
        if (off + lim <= total && content.endsWith("\n")) content = content.slice(0, -1);
        return { content, mimeType, totalLines: total, startLine: off + 1, endLine: end, nextOffset: end < total ? end : undefined };
      } catch (err) {
        if (isAbsent(err)) return { error: Says.readNotFound(filePath) };
        throw err;
      }
    });
  }

  async readRaw(filePath: string): Promise<ReadRawResult> {
    return this.run<ReadRawResult>(filePath, "read", "bare", async (c, view) => {
      let read;
      try {
        read = await c.request("read", { path: view }, this.timeout());
      } catch (err) {
        if (isAbsent(err)) return { error: Says.readNotFound(filePath) };
        throw err;
      }
      const { value, data } = read;
      const mimeType = mimeTypeOf(view);
      const bytes = concat(data);
      return {
        data: {
          content: isTextMimeType(mimeType) ? bytes.toString("utf8") : new Uint8Array(bytes),
          mimeType,
          created_at: new Date(value.ctimeMs ?? value.mtimeMs).toISOString(),
          modified_at: new Date(value.mtimeMs).toISOString(),
        },
      };
    });
  }

  /** Binary types (by extension) take base64 content, as deepagents' own backends do. */
  async write(filePath: string, content: string): Promise<WriteResult> {
    return this.run<WriteResult>(
      filePath,
      "write",
      (code) => Says.writeFailed(filePath, code),
      async (c, view) => {
        if (typeof content !== "string") return { error: `Error: content for ${view} must be a string` };
        const bytes = isTextMimeType(mimeTypeOf(view)) ? Buffer.from(content, "utf8") : Buffer.from(content, "base64");
        let value;
        try {
          ({ value } = await c.request("write", { path: view, size: bytes.length }, { ...this.timeout(), body: bytes }));
        } catch (err) {
          const code = writeFailure(err);
          if (code) return { error: Says.writeFailed(filePath, code) };
          throw err;
        }
        const unsaved = await this.persisted(view, () => this.sync?.saved(view, bytes, value));
        return unsaved ? { error: unsaved } : { path: filePath, filesUpdate: null };
      },
    );
  }

  async edit(filePath: string, oldString: string, newString: string, replaceAll = false): Promise<EditResult> {
    if (typeof oldString !== "string" || typeof newString !== "string") return { error: "Error: old and new strings must be strings" };
    // A file the model may read but not write (/skills): BaseSandbox reads it, decides, and only
    // then fails to write; answer the same, in the same order.
    const writable = confinePath(filePath, "write");
    if (!writable.ok && writable.code === ErrorCode.PermissionDenied && confinePath(filePath, "read").ok) {
      return this.run<EditResult>(filePath, "read", "error", async (c, view) => {
        const text = await this.textOf(c, view);
        if (text === null) return { error: Says.editFileNotFound(filePath) };
        const outcome = editOutcome(filePath, text, oldString, newString, Boolean(replaceAll));
        if ("error" in outcome) return outcome;
        return outcome.text === null ? { path: filePath, filesUpdate: null, occurrences: outcome.occurrences } : { error: Says.editWriteFailed(filePath, "permission_denied") };
      });
    }
    return this.run<EditResult>(filePath, "write", "error", async (c, view) => {
      if (oldString === "" || oldString === newString) return this.editOnHost(c, filePath, view, oldString, newString, Boolean(replaceAll));
      // With a store, the edited bytes come back with the result: one request, no download.
      const returnContent = this.sync !== null && workspaceRelative(view) !== null;
      let edited;
      try {
        edited = await c.request("edit", { path: view, oldString, newString, replaceAll: Boolean(replaceAll), returnContent }, this.timeout());
      } catch (err) {
        if (isAbsent(err)) return { error: Says.editFileNotFound(filePath) };
        if (GuestError.isInstance(err, GuestErrorCode.NoMatch)) return { error: Says.editStringNotFound(filePath) };
        if (GuestError.isInstance(err, GuestErrorCode.NotUnique)) return { error: Says.editAmbiguous(filePath) };
        const code = writeFailure(err);
        if (code) return { error: Says.editWriteFailed(filePath, code) };
        throw err;
      }
      const { value, data } = edited;
      const unsaved = await this.persisted(view, () => (returnContent ? this.sync?.saved(view, concat(data), value) : undefined));
      return unsaved ? { error: unsaved } : { path: filePath, filesUpdate: null, occurrences: value.occurrences };
    });
  }

  /** Edits decided on the host (empty `oldString`, `oldString === newString`): rare, small. */
  private async editOnHost(c: GuestClient, filePath: string, view: string, oldString: string, newString: string, replaceAll: boolean): Promise<EditResult> {
    const text = await this.textOf(c, view);
    if (text === null) return { error: Says.editFileNotFound(filePath) };
    const outcome = editOutcome(filePath, text, oldString, newString, replaceAll);
    if ("error" in outcome) return outcome;
    if (outcome.text !== null) {
      const failed = await this.putText(c, filePath, view, outcome.text);
      if (failed) return { error: failed };
    }
    return { path: filePath, filesUpdate: null, occurrences: outcome.occurrences };
  }

  /** A file's text, or null when it is not there to read (missing, a directory). */
  private async textOf(c: GuestClient, view: string): Promise<string | null> {
    try {
      const { data } = await c.request("read", { path: view }, this.timeout());
      return concat(data).toString("utf8");
    } catch (err) {
      if (isAbsent(err)) return null;
      throw err;
    }
  }

  async grep(pattern: string, path?: string | null, glob?: string | null, maxCount?: number | null): Promise<GrepResult> {
    const where = path ?? "/";
    return this.run<GrepResult>(where, "read", "error", async (c, view) => {
      if (typeof pattern !== "string" || pattern === "") return { error: "Error: pattern must be a non-empty string" };
      const max = maxCount != null && Number.isFinite(maxCount) && maxCount >= 1 ? Math.floor(maxCount) : undefined;
      let value;
      try {
        ({ value } = await c.request("grep", { pattern, path: view, glob: glob ?? undefined, maxCount: max }, this.timeout()));
      } catch (err) {
        if (isAbsent(err)) return { matches: [] }; // `grep -r` on nothing finds nothing
        throw err;
      }
      const shown = shownAs(where, view);
      const matches = value.matches.map((m) => ({ ...m, path: shown(m.path) }));
      return value.truncated ? { matches, truncated: true } : { matches };
    });
  }

  /**
   * Files and directories matching `pattern`, as paths relative to `path` (BaseSandbox's and
   * deepagents' standard tests' form); an absolute pattern gives absolute paths.
   */
  async glob(pattern: string, path = "/"): Promise<GlobResult> {
    return this.run<GlobResult>(path, "read", "bare", async (c, view) => {
      if (typeof pattern !== "string" || pattern === "") return { error: "pattern must be a non-empty string" };
      let value;
      try {
        ({ value } = await c.request("glob", { pattern, path: view }, this.timeout()));
      } catch (err) {
        if (isAbsent(err)) return { files: [], truncated: false };
        throw err;
      }
      const absolute = pattern.startsWith("/");
      const cut = view === "/" ? 1 : view.length + 1;
      const files = value.paths.map((f) => toDaInfo(f, absolute ? f.path : f.path.slice(cut), false));
      return { files, truncated: value.truncated };
    });
  }

  async delete(filePath: string): Promise<DeleteResult> {
    const refused = () => Says.deleteFailed(filePath, `rm: cannot remove '${filePath}': Permission denied`);
    return this.run<DeleteResult>(filePath, "write", refused, async (c, view) => {
      try {
        await c.request("delete", { path: view, recursive: true }, this.timeout());
      } catch (err) {
        if (GuestError.isInstance(err, GuestErrorCode.FileNotFound)) return { error: Says.deleteNotFound(filePath) };
        if (GuestError.isInstance(err, GuestErrorCode.PermissionDenied) && !/outside the sandbox/.test(err.message)) return { error: refused() };
        throw err;
      }
      await this.sync?.removed(view);
      return { path: filePath, filesUpdate: null };
    });
  }

  async uploadFiles(files: Array<[string, Uint8Array]>): Promise<FileUploadResponse[]> {
    return this.upload(files, false);
  }

  /**
   * Host-only: places files where the model may not write (skills under /skills), owned by root so
   * commands can read but not change them. Not part of deepagents' protocol, so no tool reaches it.
   */
  async installFiles(files: Array<[string, Uint8Array]>): Promise<FileUploadResponse[]> {
    return this.upload(files, true);
  }

  private async upload(files: Array<[string, Uint8Array]>, install: boolean): Promise<FileUploadResponse[]> {
    const out: FileUploadResponse[] = files.map(([path]) => ({ path, error: null }));
    const send: { index: number; view: string; data: Uint8Array }[] = [];
    files.forEach(([path, data], index) => {
      const p = confinePath(path, install ? "read" : "write");
      if (!p.ok) out[index]!.error = toFileOpError(p.code);
      else if (!(data instanceof Uint8Array)) out[index]!.error = "invalid_path";
      else send.push({ index, view: p.view, data });
    });
    if (!send.length) return out;
    let results: { error?: string; size?: number; mtimeMs?: number }[];
    try {
      const c = await this.link.client();
      ({ value: { results } } = await c.request(
        "upload",
        { files: send.map((s) => ({ path: s.view, size: s.data.length })), install },
        { ...this.timeout(), body: send.map((s) => s.data) },
      ));
    } catch (err) {
      const code = GuestError.isInstance(err) ? err.code : ErrorCode.Internal;
      for (const s of send) out[s.index]!.error = toFileOpError(code);
      return out;
    }
    for (let i = 0; i < send.length; i++) {
      const r = results[i];
      const s = send[i]!;
      if (!r || r.error) out[s.index]!.error = toFileOpError(r?.error ?? ErrorCode.Internal);
      // Written in the VM; saving it to the workspace store may fail (NATS away): that is thrown as
      // it is, not reported as the file's "permission_denied" (a run then goes back on the queue).
      else await this.sync?.saved(s.view, s.data, { size: r.size ?? s.data.length, mtimeMs: r.mtimeMs ?? 0 });
    }
    return out;
  }

  async downloadFiles(paths: string[]): Promise<FileDownloadResponse[]> {
    const out: FileDownloadResponse[] = paths.map((path) => ({ path, content: null, error: null }));
    const fetch: { index: number; view: string }[] = [];
    paths.forEach((path, index) => {
      const p = confinePath(path, "read");
      if (!p.ok || p.view === "/") out[index]!.error = p.ok ? "is_directory" : toFileOpError(p.code);
      else fetch.push({ index, view: p.view });
    });
    if (!fetch.length) return out;
    try {
      const c = await this.link.client();
      const { value, data } = await c.request("download", { paths: fetch.map((f) => f.view) }, this.timeout());
      const parts = new Map<number, Buffer[]>();
      for (const d of data) if (d.part !== undefined) (parts.get(d.part) ?? parts.set(d.part, []).get(d.part)!).push(d.bytes);
      fetch.forEach((f, i) => {
        const r = value.files[i];
        if (!r || r.error) out[f.index]!.error = toFileOpError(r?.error ?? ErrorCode.Internal);
        else out[f.index]!.content = new Uint8Array(Buffer.concat(parts.get(i) ?? []));
      });
    } catch (err) {
      const code = GuestError.isInstance(err) ? err.code : ErrorCode.Internal;
      for (const f of fetch) out[f.index]!.error = toFileOpError(code);
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Commands
  // -------------------------------------------------------------------------------------------

  /**
   * Runs `command` with `/bin/sh -c` in /workspace as the unprivileged sandbox user, with a
   * timeout (the whole process group is killed) and an output cap (`truncated: true`).
   */
  async execute(command: string): Promise<ExecuteResponse> {
    if (typeof command !== "string" || command.trim() === "") return { output: "Error: command must be a non-empty string", exitCode: 1, truncated: false };
    let c: GuestClient;
    try {
      c = await this.link.client();
    } catch (err) {
      return { output: `${SANDBOX_FAILURE}the sandbox is unavailable: ${(err as Error).message}`, exitCode: null, truncated: false };
    }
    let res;
    try {
      // The host-side timeout is a backstop for a guest that stops answering.
      res = await c.exec(
        { shell: command, cwd: "/workspace", timeoutMs: this.executeTimeoutMs, maxOutputBytes: this.maxOutputBytes },
        { timeoutMs: this.executeTimeoutMs + 30_000 },
      );
    } catch (err) {
      return { output: `${SANDBOX_FAILURE}${describeFailure(err, this.link.deathReason)}`, exitCode: null, truncated: false };
    }
    let output = res.output.toString("utf8");
    if (res.truncated) output += `\n[output truncated at ${this.maxOutputBytes} bytes]`;
    if (res.timedOut) output += `\n[command timed out after ${this.executeTimeoutMs / 1000} s and was killed with its child processes]`;
    if (this.sync) {
      try {
        await this.sync.afterCommand(c);
      } catch (err) {
        output += `\n[warning: workspace changes could not be saved: ${(err as Error).message}]`;
      }
    }
    return { output, exitCode: res.timedOut ? null : res.exitCode, truncated: res.truncated };
  }

  // -------------------------------------------------------------------------------------------

  /** Runs a persistence step; returns an error message when it failed (the VM has the change). */
  private async persisted(view: string, step: () => Promise<void> | undefined): Promise<string | null> {
    try {
      await step();
      return null;
    } catch (err) {
      return `Error: ${view} changed in the sandbox but could not be saved to the thread's store: ${(err as Error).message}`;
    }
  }

  private timeout(): { timeoutMs: number } {
    return { timeoutMs: this.requestTimeoutMs };
  }

  /**
   * Confines the path, runs `fn` on the live client and turns every failure into `{ error }`.
   * `style` words a failure the way the tool that shows it expects: "bare" where the tool adds its
   * own prefix (read_file's "Error: ", ls's "Error listing files: "), "error" where it shows the
   * error as it is, or a function giving the deepagents wording for a write refused in the view.
   */
  private async run<T extends { error?: string }>(
    path: unknown,
    access: Access,
    style: "bare" | "error" | ((code: FileOperationError) => string),
    fn: (c: GuestClient, view: string) => Promise<T>,
  ): Promise<T> {
    const word = (message: string) => (style === "bare" ? message : `Error: ${message}`);
    const p = confinePath(path, access);
    if (!p.ok) {
      const inView = access === "write" && p.code === ErrorCode.PermissionDenied && confinePath(path, "read").ok;
      return { error: inView && typeof style === "function" ? style("permission_denied") : word(p.message) } as T;
    }
    try {
      return await fn(await this.link.client(), p.view);
    } catch (err) {
      return { error: word(describeFailure(err, this.link.deathReason)) } as T;
    }
  }

  /** Writes text bytes as they are (never base64, whatever the extension): edits decided on the host. */
  private async putText(c: GuestClient, filePath: string, view: string, text: string): Promise<string | null> {
    const bytes = Buffer.from(text, "utf8");
    let value;
    try {
      ({ value } = await c.request("write", { path: view, size: bytes.length }, { ...this.timeout(), body: bytes }));
    } catch (err) {
      const code = writeFailure(err);
      if (code) return Says.editWriteFailed(filePath, code);
      throw err;
    }
    return this.persisted(view, () => this.sync?.saved(view, bytes, value));
  }
}

/**
 * How `execute` answers when the sandbox itself failed (no VM, the VM died mid-command) rather
 * than the command: such a call is not an effect to replay, it is run again on resume.
 */
export const SANDBOX_FAILURE = "Error: sandbox failure: ";

function describeFailure(err: unknown, death: string | null): string {
  if (GuestError.isInstance(err, GuestErrorCode.ChannelClosed)) {
    return `the sandbox VM stopped responding (${death ?? err.message}); a new VM with the saved /workspace is used for the next call if one can be started`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** A listing entry as deepagents shows it: ls marks directories with a trailing "/", glob does not. */
function toDaInfo(f: FileInfo, path: string, slashDirs: boolean): DaFileInfo {
  const isDir = f.type === "dir";
  return { path: isDir && slashDirs ? `${path}/` : path, is_dir: isDir, size: isDir ? 0 : f.size, modified_at: modifiedAt(f.mtimeMs) };
}

/** Nothing there to read or list: missing, a directory where a file was meant, or the reverse. */
function isAbsent(err: unknown): boolean {
  return (
    GuestError.isInstance(err, GuestErrorCode.FileNotFound) ||
    GuestError.isInstance(err, GuestErrorCode.NotDirectory) ||
    GuestError.isInstance(err, GuestErrorCode.IsDirectory) ||
    GuestError.isInstance(err, GuestErrorCode.InvalidPath)
  );
}

/** deepagents' code for a write the filesystem refused (as a pure-exec upload reports it), or null. */
function writeFailure(err: unknown): FileOperationError | null {
  if (GuestError.isInstance(err, GuestErrorCode.IsDirectory) || GuestError.isInstance(err, GuestErrorCode.Exists)) return "is_directory";
  if (GuestError.isInstance(err, GuestErrorCode.PermissionDenied) && /outside the sandbox/.test(err.message)) return null;
  if (GuestError.isInstance(err, GuestErrorCode.PermissionDenied) || GuestError.isInstance(err, GuestErrorCode.NotDirectory)) return "permission_denied";
  return null;
}

/**
 * Paths in results as BaseSandbox prints them (`find`/`grep` echo the path they were given): the
 * caller's spelling of the searched path, then the rest.
 */
function shownAs(given: string, view: string): (path: string) => string {
  if (given === view) return (p) => p;
  const base = given.length > 1 ? given.replace(/\/+$/, "") : given;
  return (p) => (p === view ? given : p.startsWith(`${view}/`) ? base + p.slice(view.length) : p);
}

function toFileOpError(code: string): FileOperationError {
  switch (code) {
    case ErrorCode.FileNotFound:
    case ErrorCode.PermissionDenied:
    case ErrorCode.IsDirectory:
    case ErrorCode.InvalidPath:
      return code;
    case ErrorCode.NotDirectory:
      return "invalid_path";
    default:
      return "permission_denied";
  }
}

function concat(data: { bytes: Buffer }[]): Buffer {
  return data.length === 1 ? data[0]!.bytes : Buffer.concat(data.map((d) => d.bytes));
}
