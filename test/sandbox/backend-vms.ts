/**
 * Real microVMs for the backend tests: one template VM is booted per test file and snapshotted;
 * every sandbox is a copy-on-write restore of it (~0.5 s under TCG instead of a ~7 s boot).
 * Fails loudly when QEMU or the guest image cannot be had.
 *
 * (A stop-gap until the VMM side's `test/support/vm.ts` lands; then this delegates to it.)
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildImage } from "../../src/sandbox/image/build.ts";
import type { VmHandle, VmSnapshot, VmSpec } from "../../src/sandbox/vmm/driver.ts";
import { QemuDriver } from "../../src/sandbox/vmm/qemu.ts";

export interface VmClones {
  /** A fresh VM restored from the template snapshot, agent answering. */
  clone(): Promise<VmHandle>;
  driver: QemuDriver;
  snapshot: VmSnapshot;
  close(): Promise<void>;
}

export const TEST_VM_SPEC = { memoryMiB: 512, vcpus: 1, workspaceMiB: 256, network: false } as const;

export async function startVmClones(spec: Partial<Omit<VmSpec, "image">> = {}): Promise<VmClones> {
  const image = await buildImage();
  const driver = new QemuDriver();
  const snapDir = await mkdtemp(join(tmpdir(), "vw-snap-"));
  const template = await driver.start({ ...TEST_VM_SPEC, ...spec, image, snapshotable: true });
  let snapshot: VmSnapshot;
  try {
    await template.ready(180_000);
    snapshot = await template.snapshot!(snapDir);
  } catch (err) {
    await template.kill().catch(() => {});
    throw err;
  }
  const clones: VmHandle[] = [];
  return {
    driver,
    snapshot,
    async clone() {
      const vm = await driver.start({ ...TEST_VM_SPEC, ...spec, image, restore: snapshot });
      clones.push(vm);
      try {
        await vm.ready(60_000);
      } catch (err) {
        await vm.kill().catch(() => {});
        throw err;
      }
      return vm;
    },
    async close() {
      for (const vm of clones) await vm.kill().catch(() => {});
      await rm(snapDir, { recursive: true, force: true });
    },
  };
}
