/**
 * `ThreadSandbox`: a thread's sandbox that outlives its VMs. It wraps the `MicroVMBackend` (which
 * already restores /workspace into a replacement VM) and adds what makes a replaced VM the same
 * sandbox to the agent:
 *
 * - **Setup again.** Before the first call on a replacement VM, `setReplacementSetup`'s function
 *   puts back what the thread's setup placed outside /workspace (skills, sources).
 * - **Run again.** A call that failed because its VM died during it (the channel closed, or the VM
 *   was replaced under it) runs once more on the replacement; so does a command whose VM died
 *   before its /workspace changes were surely saved. A second death is a clear error,
 *   prefixed `SANDBOX_FAILURE` so the effect journal never records it: a resume runs it again.
 * - **Liveness.** While any call is in flight, the agent is asked `hello` every `intervalMs`; an
 *   agent silent for `timeoutMs` (QEMU alive, agent frozen) is treated as dead: its VM is killed,
 *   which fails the calls waiting on it, and they run again on a replacement.
 */
import type {
  EditResult,
  ExecuteResponse,
  FileDownloadResponse,
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
import { DEFAULT_LIVENESS, pingAgent, type LivenessOptions } from "./agent-liveness.ts";
import { SANDBOX_FAILURE } from "./backend.ts";
import type { GuestClient } from "./guest-client.ts";
import type { SandboxVm } from "./sandbox-vm.ts";

/** What `ThreadSandbox` needs of the backend it wraps (`MicroVMBackend` has it). */
export interface ReplaceableBackend extends SandboxBackendProtocolV2 {
  /** The live guest client; attaches a replacement VM (its /workspace restored) when the last one died. */
  guest(): Promise<GuestClient>;
  /** VMs used so far: 1 + replacements. */
  readonly generation: number;
  readonly vm: SandboxVm | null;
  installFiles(files: Array<[string, Uint8Array]>): Promise<FileUploadResponse[]>;
  uploadFiles(files: Array<[string, Uint8Array]>): Promise<FileUploadResponse[]>;
  downloadFiles(paths: string[]): Promise<FileDownloadResponse[]>;
  close(): Promise<void>;
}

/** Puts back into a replacement VM what the thread's setup placed outside /workspace. */
export type ReplacementSetup = (backend: ReplaceableBackend) => Promise<void>;

/** What happened to the thread's VM, for the event log and the user. */
export type ThreadSandboxNotice =
  | { kind: "agent_unresponsive"; generation: number; timeoutMs: number }
  | { kind: "vm_replaced"; generation: number }
  | { kind: "call_retried"; op: string; generation: number; failure: string };

export interface ThreadSandboxOptions {
  /** `false` turns the pings off (a backend without a guest agent). */
  liveness?: Partial<LivenessOptions> | false;
  onNotice?: (notice: ThreadSandboxNotice) => void;
}

const FAILURE_CHARS = 300;

export class ThreadSandbox implements SandboxBackendProtocolV2 {
  readonly id: string;
  private setup: ReplacementSetup | null = null;
  /** The generation whose VM got the setup (the first VM's comes from the thread's own setup). */
  private prepared: number;
  private preparing: Promise<GuestClient> | null = null;
  private client: GuestClient | null = null;
  private inFlight = 0;
  private watching = false;
  private closed = false;
  private readonly liveness: LivenessOptions | null;

  constructor(
    private readonly inner: ReplaceableBackend,
    private readonly opts: ThreadSandboxOptions = {},
  ) {
    this.id = inner.id;
    this.prepared = inner.generation;
    this.liveness = opts.liveness === false ? null : { ...DEFAULT_LIVENESS, ...opts.liveness };
  }

  /** The VM in use now (another one after a replacement). */
  get vm(): SandboxVm | null {
    return this.inner.vm;
  }

  get generation(): number {
    return this.inner.generation;
  }

  /** Set once the thread knows what its VMs need (after its first setup). */
  setReplacementSetup(setup: ReplacementSetup): void {
    this.setup = setup;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.inner.close();
  }

  ls(path: string): Promise<LsResult> {
    return this.call<LsResult>("ls", (b) => b.ls(path), hasError, failedWith);
  }
  read(filePath: string, offset?: number, limit?: number): Promise<ReadResult> {
    return this.call<ReadResult>("read", (b) => b.read(filePath, offset, limit), hasError, failedWith);
  }
  readRaw(filePath: string): Promise<ReadRawResult> {
    return this.call<ReadRawResult>("readRaw", (b) => b.readRaw(filePath), hasError, failedWith);
  }
  write(filePath: string, content: string): Promise<WriteResult> {
    return this.call<WriteResult>("write", (b) => b.write(filePath, content), hasError, failedWith);
  }
  edit(filePath: string, oldString: string, newString: string, replaceAll?: boolean): Promise<EditResult> {
    return this.call<EditResult>("edit", (b) => b.edit(filePath, oldString, newString, replaceAll), hasError, failedWith);
  }
  grep(pattern: string, path?: string | null, glob?: string | null, maxCount?: number | null): Promise<GrepResult> {
    return this.call<GrepResult>("grep", (b) => b.grep(pattern, path, glob, maxCount), hasError, failedWith);
  }
  glob(pattern: string, path?: string): Promise<GlobResult> {
    return this.call<GlobResult>("glob", (b) => b.glob(pattern, path), hasError, failedWith);
  }
  delete(filePath: string): Promise<DeleteResult> {
    return this.call<DeleteResult>("delete", (b) => (b as unknown as { delete(p: string): Promise<DeleteResult> }).delete(filePath), hasError, failedWith);
  }
  uploadFiles(files: Array<[string, Uint8Array]>): Promise<FileUploadResponse[]> {
    return this.call("uploadFiles", (b) => b.uploadFiles(files), anyError, keepOrThrow);
  }
  /** Host-only (skills): see `MicroVMBackend.installFiles`. */
  installFiles(files: Array<[string, Uint8Array]>): Promise<FileUploadResponse[]> {
    return this.call("installFiles", (b) => b.installFiles(files), anyError, keepOrThrow);
  }
  downloadFiles(paths: string[]): Promise<FileDownloadResponse[]> {
    return this.call("downloadFiles", (b) => b.downloadFiles(paths), anyError, keepOrThrow);
  }
  execute(command: string): Promise<ExecuteResponse> {
    // Any answer counts as failed when the VM died under it: what the command changed in
    // /workspace may not have been saved before the VM went, and the replacement has only what was.
    return this.call("execute", (b) => b.execute(command), () => true, (message) => ({ output: message, exitCode: null, truncated: false }));
  }

  /**
   * Runs `op` on a prepared VM; when it failed and its VM died meanwhile, once more on the
   * replacement. `failed` tells a failed result; `fail` makes the result that reports a failure.
   */
  private async call<T>(op: string, run: (b: ReplaceableBackend) => T | PromiseLike<T>, failed: (r: T) => boolean, fail: (message: string, last?: T) => T): Promise<T> {
    let first: string | null = null;
    for (;;) {
      let client: GuestClient;
      try {
        client = await this.ready();
      } catch (err) {
        return fail(`${SANDBOX_FAILURE}the sandbox is unavailable: ${clip((err as Error).message)}`);
      }
      const generation = this.inner.generation;
      this.inFlight++;
      this.watch();
      let result: T;
      try {
        result = await run(this.inner);
      } finally {
        this.inFlight--;
      }
      // The VM this call ran on ended (or another took its place): not the call's own failure.
      const died = client.isClosed || this.inner.generation !== generation;
      if (!died || !failed(result)) return result;
      const failure = describe(result);
      if (first !== null) {
        return fail(
          `${SANDBOX_FAILURE}the sandbox VM died twice while running this ${op} call (first: ${first}; then: ${failure}). ` +
            "The thread's files are kept; the next call gets a new VM.",
          result,
        );
      }
      first = failure;
      this.opts.onNotice?.({ kind: "call_retried", op, generation, failure });
    }
  }

  /** The live client of a VM that has had the setup (a replacement gets it here, once). */
  private ready(): Promise<GuestClient> {
    const c = this.client;
    if (c && !c.isClosed && this.inner.generation === this.prepared) return Promise.resolve(c);
    this.preparing ??= (async () => {
      const client = await this.inner.guest();
      const generation = this.inner.generation;
      if (generation !== this.prepared) {
        await this.setup?.(this.inner);
        this.prepared = generation;
        this.opts.onNotice?.({ kind: "vm_replaced", generation });
      }
      this.client = client;
      return client;
    })().finally(() => (this.preparing = null));
    return this.preparing;
  }

  /** Pings the agent while calls are in flight; kills a VM whose agent stopped answering. */
  private watch(): void {
    const live = this.liveness;
    if (!live || this.watching) return;
    this.watching = true;
    void (async () => {
      try {
        while (this.inFlight > 0 && !this.closed) {
          await new Promise((r) => setTimeout(r, live.intervalMs).unref());
          const client = this.client;
          const vm = this.inner.vm;
          if (this.inFlight === 0 || !client || client.isClosed || !vm) continue;
          if ((await pingAgent(client, live.timeoutMs)) !== "unresponsive" || client !== this.client || client.isClosed) continue;
          this.opts.onNotice?.({ kind: "agent_unresponsive", generation: this.inner.generation, timeoutMs: live.timeoutMs });
          await vm.kill().catch(() => {});
        }
      } finally {
        this.watching = false;
        if (this.inFlight > 0 && !this.closed) this.watch();
      }
    })();
  }
}

function hasError(r: unknown): boolean {
  const e = (r as { error?: unknown } | null)?.error;
  return typeof e === "string" && e !== "";
}

function anyError(r: unknown): boolean {
  return Array.isArray(r) && r.some((x: { error?: unknown }) => x?.error);
}

/** File arrays carry only error codes: the last answer stands, and "no VM at all" is thrown with its reason. */
function keepOrThrow<T>(message: string, last?: T): T {
  if (last !== undefined) return last;
  throw new Error(message);
}

function failedWith<T>(message: string): T {
  return { error: message } as T;
}

function describe(r: unknown): string {
  const x = r as { output?: unknown; error?: unknown } | Array<{ path: string; error: unknown }>;
  const text = Array.isArray(x) ? x.filter((f) => f.error).map((f) => `${f.path}: ${String(f.error)}`).join(", ") : String(x.error ?? "");
  if (text) return clip(text.replace(/^Error: /, ""));
  const output = typeof (x as { output?: unknown }).output === "string" ? (x as { output: string }).output : "";
  if (output.startsWith(SANDBOX_FAILURE)) return clip(output.slice(SANDBOX_FAILURE.length));
  return "the VM ended as the command finished, before its /workspace changes were surely saved";
}

function clip(s: string): string {
  return s.length > FAILURE_CHARS ? `${s.slice(0, FAILURE_CHARS)}…` : s;
}
