/** The microVM sandbox: the deepagents backend, the VM pool, the guest image, the VMM driver. */
export { DEFAULT_LIVENESS } from "./agent-liveness.ts";
export { DEFAULT_EXECUTE_TIMEOUT_MS, MicroVMBackend, SANDBOX_FAILURE } from "./backend.ts";
export { buildImage, currentImage } from "./image/build.ts";
export { DEFAULT_SHAPE, type PoolStats, SandboxPool } from "./pool.ts";
export type { WorkspaceStore } from "./ports.ts";
export { ensureTemplate } from "./snapshot.ts";
export { type ReplacementSetup, ThreadSandbox, type ThreadSandboxNotice } from "./thread-sandbox.ts";
export { probeKvm } from "./vmm/kvm-probe.ts";
export { QemuDriver } from "./vmm/qemu.ts";
