/**
 * The backend conformance suite against the guest agent running as a host process: the same code
 * paths as in a VM minus the VM, so protocol and backend regressions show up in seconds. The VM
 * run is `backend.test.ts`.
 */
import { startHostAgent, type HostAgent } from "../guest/host-agent.ts";
import { backendSuite } from "./backend-suite.ts";

backendSuite("MicroVMBackend on a host-process agent", async () => {
  const agents: HostAgent[] = [];
  return {
    isVm: false,
    async makeVm() {
      const a = await startHostAgent();
      agents.push(a);
      return a.vm;
    },
    async teardown() {
      for (const a of agents) await a.close();
    },
  };
});
