/**
 * Freezes a CLI process's VMs (SIGSTOP to each QEMU, not to the guardian shell that starts it):
 * the guest agent stops answering while the host process goes on, so a run is surely held at a
 * known point. SIGKILL still ends a stopped QEMU, so cleanup works as usual.
 */
import { readFileSync } from "node:fs";
import { descendants } from "./child.ts";

/** The QEMU processes among `pids`, by their command name. */
export function qemuProcesses(pids: readonly number[]): number[] {
  return pids.filter((p) => {
    try {
      return readFileSync(`/proc/${p}/comm`, "utf8").startsWith("qemu-system");
    } catch {
      return false;
    }
  });
}

/** SIGSTOPs every QEMU under `pid`; returns their pids (to kill after the test). */
export function freezeVms(pid: number): number[] {
  const vms = qemuProcesses(descendants(pid));
  for (const p of vms) process.kill(p, "SIGSTOP");
  return vms;
}
