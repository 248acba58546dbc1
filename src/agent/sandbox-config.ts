import { OP_SCHEMAS } from "../protocol/index.ts";
import { DEFAULT_EXECUTE_TIMEOUT_MS, DEFAULT_LIVENESS } from "../sandbox/index.ts";
import { AgentError, AgentErrorCode } from "./errors.ts";

/** The VM shape and limits the owner may set through the environment (defaults in parentheses). */
export const SandboxEnv = {
  MemoryMiB: "VIBEWRITER_VM_MEMORY_MIB", // guest RAM (768)
  Vcpus: "VIBEWRITER_VM_VCPUS", // (1)
  WorkspaceMiB: "VIBEWRITER_VM_WORKSPACE_MIB", // size cap of /workspace (256)
  PoolSize: "VIBEWRITER_POOL_SIZE", // spare restored VMs kept ready beyond the threads' own (0: for a process that opens many threads)
  ExecTimeoutSec: "VIBEWRITER_EXEC_TIMEOUT_SEC", // kill a command's process group after this (120)
  AgentTimeoutSec: "VIBEWRITER_AGENT_TIMEOUT_SEC", // a guest agent silent this long is dead: its VM is replaced (20)
} as const;

export interface SandboxConfig {
  shape: { memoryMiB: number; vcpus: number; workspaceMiB: number; network: false };
  poolSize: number;
  executeTimeoutMs: number;
  /** Pings of a busy VM's agent: every `intervalMs`, dead after `timeoutMs` of silence. */
  liveness: { intervalMs: number; timeoutMs: number };
}

const LIMITS: Record<keyof typeof SandboxEnv, { def: number; min: number; max: number }> = {
  MemoryMiB: { def: 768, min: 256, max: 16384 },
  Vcpus: { def: 1, min: 1, max: 16 },
  WorkspaceMiB: { def: 256, min: 16, max: 8192 },
  PoolSize: { def: 0, min: 0, max: 16 },
  // The backend's default; at most what the guest protocol accepts.
  ExecTimeoutSec: { def: DEFAULT_EXECUTE_TIMEOUT_MS / 1000, min: 1, max: OP_SCHEMAS.exec.limits.maxTimeoutMs / 1000 },
  AgentTimeoutSec: { def: DEFAULT_LIVENESS.timeoutMs / 1000, min: 2, max: 3_600 },
};

/** Reads the sandbox settings; a malformed or out-of-range value is an error, never silently clamped. */
export function sandboxConfigFromEnv(env: NodeJS.ProcessEnv = process.env): SandboxConfig {
  const get = (key: keyof typeof SandboxEnv): number => {
    const name = SandboxEnv[key];
    const { def, min, max } = LIMITS[key];
    const raw = env[name]?.trim();
    if (!raw) return def;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      throw new AgentError(AgentErrorCode.SandboxSetup, `${name}="${raw}" must be a whole number from ${min} to ${max}.`);
    }
    return Number(raw);
  };
  const workspaceMiB = get("WorkspaceMiB");
  const memoryMiB = get("MemoryMiB");
  // /workspace is a tmpfs in guest memory: leave the guest room to run its commands.
  if (workspaceMiB > memoryMiB / 2) {
    throw new AgentError(
      AgentErrorCode.SandboxSetup,
      `${SandboxEnv.WorkspaceMiB}=${workspaceMiB} needs ${SandboxEnv.MemoryMiB} of at least ${workspaceMiB * 2} (the workspace lives in guest memory).`,
    );
  }
  return {
    shape: { memoryMiB, vcpus: get("Vcpus"), workspaceMiB, network: false },
    poolSize: get("PoolSize"),
    executeTimeoutMs: get("ExecTimeoutSec") * 1000,
    liveness: livenessFor(get("AgentTimeoutSec") * 1000),
  };
}

/** Asked four times per timeout, at most as often as by default (5 s): a dead agent is found within 1.25 timeouts. */
function livenessFor(timeoutMs: number): { intervalMs: number; timeoutMs: number } {
  return { intervalMs: Math.min(DEFAULT_LIVENESS.intervalMs, Math.round(timeoutMs / 4)), timeoutMs };
}
