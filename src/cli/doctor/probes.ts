/**
 * Adapters from the doctor's probe contracts to the components that own the facts: the KVM probe
 * (`src/sandbox/vmm/kvm-probe.ts`) and the guest image builder (`src/sandbox/image/`).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { stateDir } from "../../config/index.ts";
import { currentImage, probeKvm as bootProbe } from "../../sandbox/index.ts";
import type { ImageFinding, KvmFinding } from "./checks.ts";
import { binaryVersionOutput } from "./checks.ts";
import { qemuVersionFrom } from "./versions.ts";

/** Where images live for this environment (the builder's own rule, applied to `env`). */
export function imagesDirFor(env: NodeJS.ProcessEnv): string {
  return env.VIBEWRITER_IMAGES_DIR || join(stateDir(env), "images");
}

/**
 * Whether VMs can use KVM here. `/dev/kvm` existing is not enough (a PVM host has one that cannot
 * run our guest), so the sandbox's probe boots the real guest kernel under KVM with a timeout;
 * that needs the guest image's kernel. The answer is cached in the state directory.
 */
export async function probeKvm(env: NodeJS.ProcessEnv): Promise<KvmFinding> {
  if (!existsSync("/dev/kvm")) return { usable: false, detail: "no /dev/kvm" };
  const qemu = env.VIBEWRITER_QEMU ?? "qemu-system-x86_64";
  const qemuVersion = qemuVersionFrom((await binaryVersionOutput(qemu)) ?? "");
  if (!qemuVersion) return { usable: false, detail: "/dev/kvm exists; QEMU is missing, so KVM cannot be tried" };
  let kernel: string;
  try {
    kernel = (await currentImage(imagesDirFor(env))).kernel;
  } catch {
    return { usable: false, detail: "/dev/kvm exists; untested until the guest image is built" };
  }
  const r = await bootProbe({ qemu, qemuVersion, kernel, cacheFile: join(stateDir(env), "kvm-probe.json") });
  return { usable: r.usable, detail: r.reason };
}

/** Whether a guest image has been built (its files present). */
export async function probeGuestImage(env: NodeJS.ProcessEnv): Promise<ImageFinding> {
  const dir = imagesDirFor(env);
  try {
    const image = await currentImage(dir);
    return { ready: true, detail: `${image.hash} in ${image.dir}` };
  } catch {
    return { ready: false, detail: `not built (looked in ${dir})` };
  }
}
