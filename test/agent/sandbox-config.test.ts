import { sandboxConfigFromEnv, SandboxEnv } from "../../src/agent/sandbox-config.ts";

describe("sandbox settings from the environment", () => {
  it("defaults to a 768 MiB, 1 vCPU VM with a 256 MiB workspace, no spare VM, 120 s commands, an agent silent for 20 s is dead", () => {
    expect(sandboxConfigFromEnv({})).toEqual({
      shape: { memoryMiB: 768, vcpus: 1, workspaceMiB: 256, network: false },
      poolSize: 0, // a single run keeps no spare VM
      executeTimeoutMs: 120_000,
      liveness: { intervalMs: 5_000, timeoutMs: 20_000 },
    });
  });

  it("takes the owner's values", () => {
    const c = sandboxConfigFromEnv({
      [SandboxEnv.MemoryMiB]: "2048",
      [SandboxEnv.Vcpus]: "2",
      [SandboxEnv.WorkspaceMiB]: "1024",
      [SandboxEnv.PoolSize]: "2",
      [SandboxEnv.ExecTimeoutSec]: "30",
      [SandboxEnv.AgentTimeoutSec]: "8",
    });
    expect(c).toEqual({
      shape: { memoryMiB: 2048, vcpus: 2, workspaceMiB: 1024, network: false },
      poolSize: 2,
      executeTimeoutMs: 30_000,
      liveness: { intervalMs: 2_000, timeoutMs: 8_000 }, // asked four times per timeout
    });
  });

  it("refuses malformed or out-of-range values with the variable's name, never clamping them", () => {
    expect(() => sandboxConfigFromEnv({ [SandboxEnv.MemoryMiB]: "1e3" })).toThrow(/VIBEWRITER_VM_MEMORY_MIB="1e3" must be a whole number from 256/);
    expect(() => sandboxConfigFromEnv({ [SandboxEnv.Vcpus]: "0" })).toThrow(/VIBEWRITER_VM_VCPUS/);
    expect(() => sandboxConfigFromEnv({ [SandboxEnv.ExecTimeoutSec]: "-5" })).toThrow(/VIBEWRITER_EXEC_TIMEOUT_SEC/);
    expect(() => sandboxConfigFromEnv({ [SandboxEnv.AgentTimeoutSec]: "1" })).toThrow(/VIBEWRITER_AGENT_TIMEOUT_SEC="1" must be a whole number from 2/);
    expect(() => sandboxConfigFromEnv({ [SandboxEnv.WorkspaceMiB]: "512" })).toThrow(/needs VIBEWRITER_VM_MEMORY_MIB of at least 1024/);
  });
});
