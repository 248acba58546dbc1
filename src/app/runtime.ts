/**
 * The composition root of a process that runs threads (a CLI run, a worker): the backbone as the
 * runtime, the VM pool, and the wallet its runs may pay from, each built once here and handed to
 * the agent as ports (`backbone`, `sandboxes()`, `payments()`), then closed together.
 */
import type { SandboxPort } from "../agent/index.ts";
import { type Backbone, NatsRole } from "../nats/index.ts";
import { openAppBackbone } from "./backbone.ts";
import { openRunWallet, type RunWallet } from "./run-wallet.ts";
import { VmPool } from "./vm-pool.ts";

export interface RuntimeOptions {
  env: NodeJS.ProcessEnv;
  /** The backbone connection's name (shown by nats-server). */
  name: string;
  /** The process's VM pool when it was made earlier (a run starts its VM's restore before the backbone). */
  vms?: VmPool;
}

export class Runtime {
  #payments: Promise<RunWallet> | undefined;

  private constructor(
    private readonly env: NodeJS.ProcessEnv,
    readonly backbone: Backbone,
    readonly vms: VmPool,
  ) {}

  /** Opens the backbone as the runtime (creating what the wallet and the Choir keep). */
  static async open(opts: RuntimeOptions): Promise<Runtime> {
    const vms = opts.vms ?? new VmPool({ env: opts.env });
    try {
      const backbone = await openAppBackbone({ env: opts.env, name: opts.name, role: NatsRole.Runtime });
      return new Runtime(opts.env, backbone, vms);
    } catch (e) {
      await vms.close();
      throw e;
    }
  }

  /** Threads' sandboxes from this process's pool, each /workspace kept in the backbone's Object Store. */
  sandboxes(): SandboxPort {
    return this.vms.sandboxes(this.backbone.blobs);
  }

  /** The wallet runs get (see run-wallet.ts), opened on first use, once. */
  payments(): Promise<RunWallet> {
    this.#payments ??= openRunWallet(this.backbone, this.env);
    return this.#payments;
  }

  /** Every VM the pool started (after the threads' own sandboxes closed), then the backbone. */
  async close(): Promise<void> {
    await this.vms.close().finally(() => this.backbone.close());
  }
}
