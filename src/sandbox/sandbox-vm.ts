/**
 * What the backend needs from a VM: the agent channel and a way to learn that it ended. The VMM
 * driver's `VmHandle` (`vmm/driver.ts`) satisfies it; so does a host process in tests.
 */
import type { Duplex } from "node:stream";

export interface SandboxVm {
  readonly id: string;
  /** The connected byte stream to the guest agent (handshake frames already consumed or not). */
  channel(): Promise<Duplex>;
  /** Resolves (never rejects) once the VM has ended for any reason. */
  readonly exited: Promise<unknown>;
  /** Ends the VM at once. */
  kill(): Promise<unknown>;
}

/** Brings up a fresh VM for a thread (e.g. `() => pool.acquire()`); called after a VM died. */
export type VmProvider = () => Promise<SandboxVm>;
