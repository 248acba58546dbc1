/**
 * Test kit for real microVMs: one `SandboxPool` per test process (vitest runs each file in its own
 * fork), restoring clones of the template snapshot of the image `bash scripts/setup.sh` built.
 * Missing QEMU or image → a clear error telling how to fix it (tests never skip).
 */
import { existsSync } from "node:fs";
import { currentImage, imagesDir } from "../../src/sandbox/image/build.ts";
import { SandboxPool, type SandboxPoolOptions } from "../../src/sandbox/pool.ts";
import type { GuestImage, VmHandle } from "../../src/sandbox/vmm/driver.ts";
import { QemuDriver } from "../../src/sandbox/vmm/qemu.ts";

// Captured at import: tests that point VIBEWRITER_STATE_DIR at a temporary folder must still find
// the image setup built in the real state directory.
const IMAGES_DIR = imagesDir();

/**
 * How long a test waits for a cold-booted VM's agent: ~70 s under TCG on an idle 2-core machine,
 * over 180 s at a load of 15 (CI beside other work). Only a failing boot ever waits this long.
 */
export const COLD_BOOT_MS = 420_000;

let driver: QemuDriver | null = null;
let pool: SandboxPool | null = null;
let exitHook = false;

/** The QEMU driver the test pool uses (kills its VMs when the test process exits). */
export function getTestDriver(): QemuDriver {
  if (!driver) {
    driver = new QemuDriver();
    if (!exitHook) {
      exitHook = true;
      process.once("exit", () => driver?.killAllSync());
    }
  }
  return driver;
}

/** The image setup built; throws a clear error when QEMU or the image is missing. */
export async function getTestImage(): Promise<GuestImage> {
  const d = getTestDriver();
  try {
    await d.version();
  } catch (err) {
    throw new Error("QEMU (qemu-system-x86_64) is missing: run `bash scripts/setup.sh`", { cause: err });
  }
  if (!existsSync("/bin/busybox")) throw new Error("busybox-static is missing: run `bash scripts/setup.sh`");
  try {
    return await currentImage(IMAGES_DIR);
  } catch (err) {
    throw new Error(`no guest image in ${IMAGES_DIR}: run \`bash scripts/setup.sh\``, { cause: err });
  }
}

/** The process-wide pool of restored test VMs (size 1 by default: two cores are shared). */
export async function getTestPool(opts: Pick<SandboxPoolOptions, "size" | "shape"> = {}): Promise<SandboxPool> {
  if (!pool) {
    const image = await getTestImage();
    pool = new SandboxPool({ driver: getTestDriver(), image, size: opts.size ?? 1, shape: opts.shape });
    await pool.start();
  }
  return pool;
}

/** A fresh VM restored from the template snapshot, agent answering. Release it with `vm.kill()`
 * or `releaseTestVm(vm)`; `closeTestPool()` kills whatever is left. */
export async function acquireTestVm(): Promise<VmHandle> {
  return (await getTestPool()).acquire();
}

export async function releaseTestVm(vm: VmHandle): Promise<void> {
  await (await getTestPool()).release(vm);
}

/** Kills every VM of the test pool (call from afterAll). */
export async function closeTestPool(): Promise<void> {
  const p = pool;
  pool = null;
  await p?.close();
}
