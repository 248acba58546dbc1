import type { Backbone } from "../nats/index.ts";
import { ArtifactStore } from "../nats/artifacts.ts";
import { MicroVMBackend } from "../sandbox/backend.ts";
import { SandboxPool } from "../sandbox/pool.ts";
import { ThreadSandbox, type ThreadSandboxNotice } from "../sandbox/thread-sandbox.ts";
import { artifactWorkspace } from "../sandbox/workspace-store.ts";
import { AgentError, AgentErrorCode } from "./errors.ts";
import type { AgentBackbone } from "./ports.ts";
import { sandboxConfigFromEnv, type SandboxConfig } from "./sandbox-config.ts";

let pool: SandboxPool | null = null;
let config: SandboxConfig | null = null;

/**
 * The process's VM pool (by default no spare VM kept waiting: one restored per thread, when it is
 * opened or announced by `prewarmThreadSandbox()`; a VM is never reused by another thread). Shape,
 * spares and command timeout come from the environment (`SandboxEnv`).
 */
export function sandboxPool(): SandboxPool {
  config ??= sandboxConfigFromEnv();
  pool ??= new SandboxPool({ size: config.poolSize, shape: config.shape });
  return pool;
}

/**
 * Starts restoring the VM of a thread this process is about to open, so that it is ready when
 * `openThreadSandbox()` asks (a single run keeps no spare). A bad setting is reported by that call.
 */
export function prewarmThreadSandbox(): void {
  try {
    sandboxPool().prewarm(1);
  } catch {
    // VIBEWRITER_VM_* out of range: openThreadSandbox() says which
  }
}

/** Kill every VM the process's pool started (call on exit). */
export async function closeSandboxPool(): Promise<void> {
  const p = pool;
  pool = null;
  await p?.close();
}

/**
 * The default sandbox for a thread: a MicroVMBackend on a VM from the pool, with the thread's
 * /workspace persisted in (and restored from) the Object Store, wrapped in a `ThreadSandbox`: a
 * VM that dies or whose agent stops answering is replaced from the same pool, set up again, and
 * the call it failed runs again. `close()` kills the VM.
 */
export async function openThreadSandbox(
  threadId: string,
  backbone: Backbone | AgentBackbone,
  options: { onNotice?: (notice: ThreadSandboxNotice) => void } = {},
): Promise<ThreadSandbox> {
  const artifacts = (backbone as Backbone).artifacts;
  const store = artifacts instanceof ArtifactStore ? artifactWorkspace(artifacts) : undefined;
  const p = sandboxPool();
  try {
    const backend = await MicroVMBackend.create({
      threadId,
      vm: await p.acquire(),
      provider: () => p.acquire(),
      executeTimeoutMs: config!.executeTimeoutMs,
      ...(store ? { store } : {}),
    });
    return new ThreadSandbox(backend, { liveness: config!.liveness, ...options });
  } catch (cause) {
    throw new AgentError(
      AgentErrorCode.SandboxSetup,
      `could not start a microVM sandbox for thread ${threadId}: ${(cause as Error).message}. Run \`vibewriter doctor\` to see what is missing.`,
      { cause },
    );
  }
}
