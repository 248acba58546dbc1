/**
 * A sandbox whose first VM does not come up (its agent is stuck, or gone) is given the next VM from
 * the provider instead of failing the thread; with no provider, or when every try fails, the error
 * names each VM and why. The VMs here are the real guest agent as host processes.
 */
import { startHostAgent, type HostAgent } from "../guest/host-agent.ts";
import { MicroVMBackend } from "../../src/sandbox/backend.ts";
import { GuestError } from "../../src/sandbox/guest-error.ts";

describe("attaching a thread's VM", () => {
  const agents: HostAgent[] = [];
  const agent = async (): Promise<HostAgent> => {
    const a = await startHostAgent();
    agents.push(a);
    return a;
  };
  afterEach(async () => {
    for (const a of agents.splice(0)) {
      a.proc.kill("SIGCONT");
      await a.close();
    }
  });

  it("a VM whose agent never answers its hello is killed and the next one is used", async () => {
    const stuck = await agent();
    stuck.proc.kill("SIGSTOP");
    const good = await agent();
    const backend = await MicroVMBackend.create({ threadId: "link-stuck", vm: stuck.vm, provider: async () => good.vm, helloTimeoutMs: 10_000 });
    try {
      expect(backend.vm?.id).toBe(good.vm.id);
      expect(backend.generation).toBe(1);
      await stuck.vm.exited;
      expect(stuck.proc.signalCode).toBe("SIGKILL");
      expect((await backend.execute("echo up")).output).toBe("up\n");
    } finally {
      await backend.close();
    }
  });

  it("a VM that is gone before its hello is replaced too", async () => {
    const gone = await agent();
    await gone.vm.kill();
    const good = await agent();
    const backend = await MicroVMBackend.create({ threadId: "link-gone", vm: gone.vm, provider: async () => good.vm });
    try {
      expect(backend.vm?.id).toBe(good.vm.id);
    } finally {
      await backend.close();
    }
  });

  it("when no VM comes up in three tries the error names each one; without a provider the first failure is the error", async () => {
    const dead: HostAgent[] = [];
    for (let i = 0; i < 4; i++) {
      const a = await agent();
      await a.vm.kill();
      dead.push(a);
    }
    let next = 1;
    const err = await MicroVMBackend.create({ threadId: "link-none", vm: dead[0]!.vm, provider: async () => dead[next++]!.vm }).catch((e: unknown) => e);
    expect(GuestError.isInstance(err, "unavailable")).toBe(true);
    const message = (err as Error).message;
    expect(message).toMatch(/no sandbox VM came up in 3 tries/);
    for (const a of dead.slice(0, 3)) expect(message).toContain(a.vm.id);
    expect(next).toBe(3); // the fourth was never asked for

    const alone = await MicroVMBackend.create({ threadId: "link-alone", vm: dead[3]!.vm }).catch((e: unknown) => e);
    expect((alone as Error).message).toMatch(/ECONNREFUSED|ENOENT/); // the socket's own error, as it was
  });
});
