import { currentImage } from "./image/build.ts";
import { ensureTemplate, type TemplateShape } from "./snapshot.ts";
import { AGENT_READY_TIMEOUT_MS, VmmError, VmmErrorCode, type GuestImage, type VmHandle, type VmmDriver, type VmSnapshot } from "./vmm/driver.ts";
import { QemuDriver } from "./vmm/qemu.ts";

/**
 * Keeps `size` sandboxes restored from the template snapshot and answering, so `acquire()` is
 * instant; each acquired VM is refilled in the background. With `size` 0 (a process that runs one
 * thread) nothing waits spare: `prewarm()` restores the VMs about to be acquired while the caller
 * does other work, and `acquire()` restores exactly one VM when none is ready. A VM is handed out once and never
 * comes back: `release()` destroys it (a sandbox is never reused by another thread). `close()`
 * kills every VM the pool started, handed out or not; QEMU's parent-death signal covers a host
 * process that dies without closing.
 */
export interface SandboxPoolOptions {
  driver?: VmmDriver;
  /** Default: the image setup built last (`currentImage()`). */
  image?: GuestImage;
  shape?: Partial<TemplateShape>;
  /** Ready VMs kept waiting beyond those acquired. Default 2. */
  size?: number;
  readyTimeoutMs?: number;
  log?: (line: string) => void;
}

export const DEFAULT_SHAPE: TemplateShape = { memoryMiB: 768, vcpus: 1, workspaceMiB: 256, network: false };

export interface PoolStats {
  idle: number;
  starting: number;
  handedOut: number;
  restored: number;
  failed: number;
}

export class SandboxPool {
  readonly size: number;
  readonly shape: TemplateShape;
  private readonly driver: VmmDriver;
  private image: GuestImage | null;
  private template: VmSnapshot | null = null;
  private readonly idle: VmHandle[] = [];
  private readonly handedOut = new Set<VmHandle>();
  private readonly waiters: { resolve: (vm: VmHandle) => void; reject: (e: Error) => void }[] = [];
  private starting = 0;
  /** Acquires announced by `prewarm()` and not yet made: restored without being kept as spares. */
  private expected = 0;
  private restored = 0;
  private failed = 0;
  private consecutiveFailures = 0;
  /** Set after 3 failed restores in a row: refills stop until the next `acquire()`. */
  private broken: Error | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  /** VMs started and not yet answering: `close()` kills them rather than wait for their ready timeout. */
  private readonly restoring = new Set<VmHandle>();
  private readonly fullWaiters: (() => void)[] = [];
  private closed = false;
  private startP: Promise<void> | null = null;

  constructor(private readonly opts: SandboxPoolOptions = {}) {
    this.size = opts.size ?? 2;
    if (!Number.isInteger(this.size) || this.size < 0 || this.size > 64) {
      throw new VmmError(VmmErrorCode.BadSpec, `pool size must be an integer in 0..64 (got ${opts.size})`);
    }
    this.shape = { ...DEFAULT_SHAPE, ...opts.shape };
    this.driver = opts.driver ?? new QemuDriver();
    this.image = opts.image ?? null;
  }

  /** Builds or loads the template, then fills the pool. Idempotent; `acquire()` calls it. */
  start(): Promise<void> {
    this.startP ??= (async () => {
      this.image ??= await currentImage();
      this.template = await ensureTemplate(this.driver, this.image, this.shape, { log: this.opts.log, readyTimeoutMs: this.opts.readyTimeoutMs });
      this.refill();
    })();
    this.startP.catch(() => (this.startP = null));
    return this.startP;
  }

  /**
   * Starts restoring `count` VMs for acquires about to come, beyond the `size` spares, and returns
   * at once. Errors surface at `acquire()`, not here.
   */
  prewarm(count = 1): void {
    if (this.closed) return;
    this.expected += count;
    this.start().catch(() => {}); // start() refills; a failure is reported by the acquire that needs the VM
  }

  /** A ready VM, yours alone. Instant when the pool is warm; else waits for the next restore. */
  async acquire(): Promise<VmHandle> {
    if (this.closed) throw new VmmError(VmmErrorCode.Unsupported, "the sandbox pool is closed");
    await this.start();
    if (this.expected > 0) this.expected--;
    this.broken = null;
    const vm = this.idle.shift();
    if (vm) {
      this.handOut(vm);
      this.refill();
      return vm;
    }
    const p = new Promise<VmHandle>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.refill();
    return p;
  }

  /** Destroys a VM that came from this pool. */
  async release(vm: VmHandle): Promise<void> {
    this.handedOut.delete(vm);
    await vm.kill();
  }

  /** Resolves once `size` VMs are idle and ready (after start, acquires or deaths). */
  async filled(): Promise<void> {
    await this.start();
    if (this.idle.length >= this.size) return;
    await new Promise<void>((resolve) => this.fullWaiters.push(resolve));
  }

  stats(): PoolStats {
    return { idle: this.idle.length, starting: this.starting, handedOut: this.handedOut.size, restored: this.restored, failed: this.failed };
  }

  /** The VMs handed out and still running (the threads' own). */
  inUse(): VmHandle[] {
    return [...this.handedOut];
  }

  /** The template snapshot the pool restores from (after `start()`). */
  get snapshot(): VmSnapshot | null {
    return this.template;
  }

  /** Kills every VM the pool started and rejects pending `acquire()` calls. */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.reject(new VmmError(VmmErrorCode.Unsupported, "the sandbox pool was closed"));
    const all = [...this.idle.splice(0), ...this.handedOut, ...this.restoring];
    this.handedOut.clear();
    await Promise.all(all.map((vm) => vm.kill()));
    // Restores still in flight kill their VM when they finish (see restoreOne).
    await Promise.all([...this.inFlight]);
  }

  private handOut(vm: VmHandle): void {
    this.handedOut.add(vm);
    void vm.exited.then(() => this.handedOut.delete(vm));
  }

  /** Starts restores until idle + starting covers the pool size, every waiter and every prewarmed acquire. */
  private refill(): void {
    if (this.closed || !this.template) return;
    while (this.idle.length + this.starting < this.size + this.waiters.length + this.expected) {
      if (this.broken) return;
      this.starting++;
      const p = this.restoreOne();
      this.inFlight.add(p);
      void p.finally(() => this.inFlight.delete(p));
    }
  }

  private async restoreOne(): Promise<void> {
    let vm: VmHandle | null = null;
    let started: VmHandle | null = null;
    try {
      vm = await this.driver.start({ image: this.image!, ...this.shape, restore: this.template! });
      started = vm;
      this.restoring.add(vm);
      if (this.closed) throw new VmmError(VmmErrorCode.Unsupported, "the sandbox pool was closed");
      await vm.ready(this.opts.readyTimeoutMs ?? AGENT_READY_TIMEOUT_MS);
      this.restored++;
      this.consecutiveFailures = 0;
    } catch (err) {
      this.failed++;
      this.consecutiveFailures++;
      if (vm) void vm.kill();
      vm = null;
      this.opts.log?.(`pool: restore failed: ${(err as Error).message}`);
      if (this.consecutiveFailures >= 3) {
        const e = new VmmError(VmmErrorCode.StartFailed, `sandbox pool: 3 restores in a row failed; last: ${(err as Error).message}`, { cause: err });
        for (const w of this.waiters.splice(0)) w.reject(e);
        this.broken = e;
        this.consecutiveFailures = 0;
      }
    } finally {
      this.starting--;
      if (started) this.restoring.delete(started);
    }
    if (!vm) return this.refill();
    if (this.closed) {
      await vm.kill();
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) {
      this.handOut(vm);
      waiter.resolve(vm);
    } else {
      const idleVm = vm;
      this.idle.push(idleVm);
      if (this.idle.length >= this.size) for (const w of this.fullWaiters.splice(0)) w();
      // An idle VM that dies (killed from outside) leaves the pool and is replaced.
      void idleVm.exited.then(() => {
        const i = this.idle.indexOf(idleVm);
        if (i >= 0) {
          this.idle.splice(i, 1);
          this.refill();
        }
      });
    }
    this.refill();
  }
}
