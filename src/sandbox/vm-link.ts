/**
 * The backend's connection to its current VM: a GuestClient over the VM's channel, watched for the
 * VM's death. When the VM dies the link says so (every pending request rejects with
 * `channel_closed`) and `client()` brings up a replacement from the provider, if there is one, and
 * runs `onAttach` (restore the workspace) before handing it out.
 */
import { GuestClient } from "./guest-client.ts";
import { GuestError, GuestErrorCode } from "./guest-error.ts";
import type { SandboxVm, VmProvider } from "./sandbox-vm.ts";
import { AGENT_READY_TIMEOUT_MS } from "./vmm/driver.ts";

export interface VmLinkOptions {
  provider?: VmProvider;
  /** Runs on every newly attached VM before it is used (restore the workspace). */
  onAttach?: (client: GuestClient) => Promise<void>;
  /**
   * How long a VM's agent gets to answer its hello. Default `AGENT_READY_TIMEOUT_MS`, the pool's own
   * readiness wait: a restored VM answered that hello already, so a second one unanswered this long
   * means a VM that is stuck, not slow.
   */
  helloTimeoutMs?: number;
}

/** VMs tried per attach when one does not come up (with a provider to ask for the next). */
export const ATTACH_ATTEMPTS = 3;

export class VmLink {
  private current: { vm: SandboxVm; client: GuestClient } | null = null;
  private attaching: Promise<GuestClient> | null = null;
  private lastDeath: string | null = null;
  /** How many VMs this link has used (1 + replacements). */
  generation = 0;
  private closed = false;

  constructor(
    private initial: SandboxVm | null,
    private readonly opts: VmLinkOptions,
  ) {}

  get vm(): SandboxVm | null {
    return this.current?.vm ?? null;
  }

  /** Why the previous VM ended, if one did. */
  get deathReason(): string | null {
    return this.lastDeath;
  }

  /** The live client; attaches the first VM or a replacement when needed. */
  async client(): Promise<GuestClient> {
    if (this.closed) throw new GuestError(GuestErrorCode.Unavailable, "the sandbox is closed");
    if (this.current && !this.current.client.isClosed) return this.current.client;
    this.attaching ??= this.replace().finally(() => (this.attaching = null));
    return this.attaching;
  }

  /** Drops the current VM (its channel failed; it may still run) and attaches the next one. */
  private async replace(): Promise<GuestClient> {
    const old = this.current;
    this.current = null;
    if (old) await old.vm.kill().catch(() => {});
    return this.attach();
  }

  /**
   * Attaches the first VM or a replacement. A VM whose channel or hello fails is killed and, when a
   * provider can give another, the next one is tried (a stuck restore must not fail the thread);
   * `onAttach` failing is the thread's problem, not the VM's, and is not retried.
   */
  private async attach(): Promise<GuestClient> {
    const failures: string[] = [];
    for (let attempt = 1; ; attempt++) {
      const vm = await this.nextVm();
      let client: GuestClient;
      try {
        client = await GuestClient.connect(await vm.channel(), { helloTimeoutMs: this.opts.helloTimeoutMs ?? AGENT_READY_TIMEOUT_MS });
      } catch (err) {
        await vm.kill().catch(() => {});
        failures.push(`${vm.id}: ${(err as Error).message}`);
        if (GuestError.isInstance(err, GuestErrorCode.VersionMismatch) || !this.opts.provider || attempt >= ATTACH_ATTEMPTS) {
          if (failures.length === 1) throw err;
          throw new GuestError(GuestErrorCode.Unavailable, `no sandbox VM came up in ${failures.length} tries: ${failures.join("; ")}`, { cause: err });
        }
        continue;
      }
      try {
        this.current = { vm, client };
        this.generation++;
        const mine = this.current;
        void vm.exited.then((exit) => {
          this.lastDeath = describeExit(exit);
          mine.client.close();
        });
        void client.closed.then((e) => (this.lastDeath ??= e.message));
        await this.opts.onAttach?.(client);
        return client;
      } catch (err) {
        this.current = null;
        await vm.kill().catch(() => {});
        throw err;
      }
    }
  }

  private async nextVm(): Promise<SandboxVm> {
    const vm = this.initial;
    this.initial = null;
    if (vm) return vm;
    if (!this.opts.provider) {
      throw new GuestError(GuestErrorCode.Unavailable, `the sandbox VM is gone (${this.lastDeath ?? "not started"}) and no replacement provider was given`);
    }
    return this.opts.provider();
  }

  /** Ends the current VM (the link can attach a replacement afterwards if it has a provider). */
  async killVm(): Promise<void> {
    const cur = this.current;
    if (!cur) return;
    cur.client.close();
    await cur.vm.kill();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.killVm();
    this.current = null;
  }
}

function describeExit(exit: unknown): string {
  if (exit && typeof exit === "object" && "reason" in exit) {
    const e = exit as { reason: unknown; code?: unknown; signal?: unknown };
    return `VM ended: ${String(e.reason)}${e.signal ? ` (${String(e.signal)})` : e.code != null ? ` (code ${String(e.code)})` : ""}`;
  }
  return "VM ended";
}
