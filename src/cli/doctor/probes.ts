/**
 * Adapters from the doctor's probe contracts to the components that own the facts: the KVM probe
 * (`src/sandbox/vmm/`) and the guest image builder (`src/sandbox/image/`).
 */
import type { ImageFinding, KvmFinding } from "./checks.ts";

/** Whether VMs can use KVM here. */
export async function probeKvm(): Promise<KvmFinding> {
  return { usable: false, detail: "KVM probe not available in this build" };
}

/** Whether the guest image is built and current. */
export async function probeGuestImage(): Promise<ImageFinding> {
  return { ready: false, detail: "image status not available in this build" };
}
