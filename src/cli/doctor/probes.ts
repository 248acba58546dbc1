/**
 * Adapters from the doctor's probe contracts to the components that own the facts: the KVM probe
 * (`src/sandbox/vmm/`) and the guest image builder (`src/sandbox/image/`).
 */
import { join } from "node:path";
import { stateDir } from "../../config/paths.ts";
import { currentImage } from "../../sandbox/image/build.ts";
import type { ImageFinding, KvmFinding } from "./checks.ts";

/** Whether VMs can use KVM here. */
export async function probeKvm(): Promise<KvmFinding> {
  return { usable: false, detail: "KVM probe not available in this build" };
}

/** Where images live for this environment (the builder's own rule, applied to `env`). */
export function imagesDirFor(env: NodeJS.ProcessEnv): string {
  return env.VIBEWRITER_IMAGES_DIR || join(stateDir(env), "images");
}

/** Whether a guest image has been built (its files present). */
export async function probeGuestImage(env: NodeJS.ProcessEnv): Promise<ImageFinding> {
  const dir = imagesDirFor(env);
  try {
    const image = await currentImage(dir);
    return { ready: true, detail: `${image.hash} in ${image.dir}` };
  } catch (e) {
    return { ready: false, detail: `not built (looked in ${dir})` };
  }
}
