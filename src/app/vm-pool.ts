import { AgentError, AgentErrorCode, type SandboxConfig, sandboxConfigFromEnv, type SandboxPort } from "../agent/index.ts";
import { MicroVMBackend, type PoolStats, SandboxPool, ThreadSandbox, type WorkspaceStore } from "../sandbox/index.ts";
import { requirePort } from "./require-port.ts";

/**
 * A process's VMs, made once by whoever runs threads (a CLI run, a worker, a test) and handed to
 * the agent as `SandboxPort`s. By default no spare VM is kept waiting: one is restored per thread,
 * when it is opened or announced by `prewarm()`; a VM is never reused by another thread. Shape,
 * spares and command timeout come from the environment (`SandboxEnv`), read when the pool is
 * first used, so a bad setting is reported by the call that needs a VM.
 */
export class VmPool {
  private settings: { config: SandboxConfig; pool: SandboxPool } | null = null;

  /** `pool`: the VMs to hand out instead of a pool of the environment's shape (a test's). */
  constructor(private readonly from: { env?: NodeJS.ProcessEnv; pool?: SandboxPool } = {}) {}

  private get ready(): { config: SandboxConfig; pool: SandboxPool } {
    if (!this.settings) {
      const config = sandboxConfigFromEnv(this.from.env ?? process.env);
      this.settings = { config, pool: this.from.pool ?? new SandboxPool({ size: config.poolSize, shape: config.shape }) };
    }
    return this.settings;
  }

  /**
   * Starts restoring the VM of a thread this process is about to open, so that it is ready when
   * `open()` asks (a single run keeps no spare). A bad setting is reported by that call.
   */
  prewarm(): void {
    try {
      this.ready.pool.prewarm(1);
    } catch {
      // VIBEWRITER_VM_* out of range: open() says which
    }
  }

  /** Restores, hand-outs and failures so far. */
  stats(): PoolStats {
    return this.ready.pool.stats();
  }

  /**
   * Threads' sandboxes from this pool, each thread's /workspace persisted in (and restored from)
   * `workspace`: a MicroVMBackend wrapped in a `ThreadSandbox` (a VM that dies or whose agent stops
   * answering is replaced from the same pool, set up again, and the call it failed runs again).
   * A store that lacks a capability is refused here, not found out when a save is lost.
   */
  sandboxes(workspace: WorkspaceStore): SandboxPort {
    requirePort<WorkspaceStore>("the workspace store", workspace, ["put", "get", "list", "delete"]);
    return {
      open: async (threadId, options = {}) => {
        const { config, pool } = this.ready;
        try {
          const backend = await MicroVMBackend.create({
            threadId,
            vm: await pool.acquire(),
            provider: () => pool.acquire(),
            executeTimeoutMs: config.executeTimeoutMs,
            store: workspace,
          });
          return new ThreadSandbox(backend, { liveness: config.liveness, ...options });
        } catch (cause) {
          throw new AgentError(
            AgentErrorCode.SandboxSetup,
            `could not start a microVM sandbox for thread ${threadId}: ${(cause as Error).message}. Run \`vibewriter doctor\` to see what is missing.`,
            { cause },
          );
        }
      },
    };
  }

  /** Kill every VM the pool started (call on exit, after the threads' own sandboxes closed). */
  async close(): Promise<void> {
    const s = this.settings;
    this.settings = null;
    await s?.pool.close();
  }
}
