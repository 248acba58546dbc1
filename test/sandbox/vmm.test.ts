/**
 * The QEMU microvm driver against real VMs: a cold boot (with a NIC, on request), restores from the
 * template snapshot (no NIC, limits, workspace survives the snapshot), stop, and death detection.
 */
import { GuestClient } from "../../src/sandbox/guest-client.ts";
import { PROTOCOL_VERSION } from "../../src/protocol/index.ts";
import { validateSpec, VmExitReason, VmmError, type VmHandle, type VmSpec } from "../../src/sandbox/vmm/driver.ts";
import { probeKvm, type KvmProbeResult } from "../../src/sandbox/vmm/kvm-probe.ts";
import { QemuDriver } from "../../src/sandbox/vmm/qemu.ts";
import { qemuArgs, type QemuRelease } from "../../src/sandbox/vmm/qemu-args.ts";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { acquireTestVm, closeTestPool, COLD_BOOT_MS, getTestDriver, getTestImage, getTestPool } from "../support/vm.ts";

/** The release these argument checks are written for (qemu-args.test.ts covers the others). */
const QEMU_7_2: QemuRelease = { major: 7, minor: 2 };

async function sh(vm: VmHandle, shell: string): Promise<{ exitCode: number | null; out: string }> {
  const client = await GuestClient.connect(await vm.channel());
  try {
    const r = await client.exec({ shell, timeoutMs: 30_000 });
    return { exitCode: r.exitCode, out: r.output.toString("utf8") };
  } finally {
    client.close();
  }
}

afterAll(async () => {
  await closeTestPool();
});

describe("qemu arguments", () => {
  const image = { hash: "h", dir: "/i", kernel: "/i/vmlinux", initrd: "/i/initrd.cpio", rootfs: "/i/rootfs.ext4", cmdline: "quiet" };
  const spec: VmSpec = { image, memoryMiB: 300, vcpus: 2, workspaceMiB: 40, network: false };
  const paths = { agentSocket: "/r/a.sock", qmpSocket: "/r/q.sock", console: "/r/c.log", pidFile: "/r/p" };

  it("has no network device unless asked, and one when asked", () => {
    const off = qemuArgs(spec, paths, "tcg", 32, QEMU_7_2).join(" ");
    expect(off).not.toMatch(/netdev|virtio-net/);
    expect(off).toContain("-nodefaults");
    const on = qemuArgs({ ...spec, network: true }, paths, "tcg", 32, QEMU_7_2).join(" ");
    expect(on).toContain("-netdev user,id=net0");
    expect(on).toContain("virtio-net-device");
    expect(on).toContain("vw.net=1");
  });

  it("puts the limits and the accelerator on the command line", () => {
    const args = qemuArgs(spec, paths, "tcg", 32, QEMU_7_2);
    expect(args[args.indexOf("-m") + 1]).toBe("300M");
    expect(args[args.indexOf("-smp") + 1]).toBe("2");
    expect(args[args.indexOf("-accel") + 1]).toBe("tcg,tb-size=32");
    expect(args[args.indexOf("-cpu") + 1]).toBe("qemu64,+arat"); // idle guests stop their tick
    expect(args[args.indexOf("-append") + 1]).toMatch(/vw\.ws=40 .*tsc_early_khz|tsc_early_khz.*vw\.ws=40/);
    const kvm = qemuArgs(spec, paths, "kvm", 32, QEMU_7_2);
    expect(kvm.join(" ")).toContain("-accel kvm -cpu host");
    expect(kvm.join(" ")).not.toContain("tsc_early_khz");
  });

  it("rejects bad specs with a clear error", () => {
    expect(() => validateSpec({ ...spec, memoryMiB: 64 })).toThrow(/memoryMiB/);
    expect(() => validateSpec({ ...spec, vcpus: 0 })).toThrow(/vcpus/);
    expect(() => validateSpec({ ...spec, workspaceMiB: 300 })).toThrow(/workspaceMiB/);
    expect(() => validateSpec({ ...spec, network: "yes" as unknown as boolean })).toThrow(/network/);
    try {
      validateSpec({ ...spec, vcpus: 1.5 });
      expect.unreachable();
    } catch (err) {
      expect(VmmError.isInstance(err) && err.code).toBe("bad_spec");
    }
  });
});

describe("QEMU microvm: probing and refusals", () => {
  it("probes KVM once, caches the verdict, and the driver follows it", async () => {
    const driver = getTestDriver();
    const image = await getTestImage();
    const dir = mkdtempSync(join(tmpdir(), "vw-kvm-"));
    try {
      const cacheFile = join(dir, "probe.json");
      const base = { qemu: driver.binary, qemuVersion: await driver.version(), kernel: image.kernel, cacheFile, timeoutMs: 8000 };
      const readCache = () => JSON.parse(readFileSync(cacheFile, "utf8")) as { key: string; result: KvmProbeResult };

      // No device: answered at once, QEMU not started, nothing cached (a device may appear later).
      const absent = join(dir, "no-such-kvm");
      expect(await probeKvm({ ...base, device: absent })).toEqual({ usable: false, reason: `no ${absent}`, ms: 0 });
      expect(existsSync(cacheFile)).toBe(false);

      // A device that exists but is no KVM device (a plain file): QEMU really runs under
      // `-accel kvm` on every host (no /dev/kvm, PVM, real KVM), fails, and that verdict is cached.
      const notKvm = join(dir, "not-kvm");
      writeFileSync(notKvm, "");
      const opts = { ...base, device: notKvm };
      const first = await probeKvm(opts);
      expect(first.usable).toBe(false);
      expect(first.reason).toMatch(/^QEMU exited [1-9]\d* under KVM: \S/); // QEMU's own last stderr line
      expect(first.reason).not.toMatch(/No such file or directory/); // QEMU was pointed at our device, not at a missing /dev/kvm
      expect(readCache().result).toEqual(first);

      // The second probe is answered from the cache: a verdict planted under the same key comes back.
      const key = readCache().key;
      const planted: KvmProbeResult = { usable: false, reason: "planted", ms: 1 };
      writeFileSync(cacheFile, JSON.stringify({ key, result: planted }));
      expect(await probeKvm(opts)).toEqual(planted);

      // A device that is absent now is reported absent even with a cached verdict, which stays put.
      rmSync(notKvm);
      expect(await probeKvm(opts)).toEqual({ usable: false, reason: `no ${notKvm}`, ms: 0 });
      expect(readCache()).toEqual({ key, result: planted });
      writeFileSync(notKvm, "");

      // Another QEMU build, or another device, is probed afresh (the key covers both).
      const other = await probeKvm({ ...opts, qemuVersion: "other" });
      expect(other.reason).toMatch(/^QEMU exited /);
      const otherKey = readCache().key;
      expect(otherKey).not.toBe(key);
      const notKvm2 = join(dir, "not-kvm-2");
      writeFileSync(notKvm2, "");
      expect((await probeKvm({ ...opts, device: notKvm2 })).reason).toMatch(/^QEMU exited /);
      expect(readCache().key).not.toBe(otherKey);
      expect(readCache().key).not.toBe(key);

      // The driver in "auto" follows the verdict for the real /dev/kvm (explicit mode: VIBEWRITER_KVM
      // does not matter here); "on" and "off" override it without probing.
      const driverCache = join(dir, "driver-probe.json");
      const auto = new QemuDriver({ binary: driver.binary, kvm: "auto", kvmProbeCache: driverCache });
      const verdict = await probeKvm({ ...base, cacheFile: driverCache });
      if (existsSync("/dev/kvm")) {
        // Probed for real (KVM or PVM); plant the opposite verdict: the driver must take it from the cache.
        const { key: driverKey, result } = JSON.parse(readFileSync(driverCache, "utf8")) as { key: string; result: KvmProbeResult };
        expect(result).toEqual(verdict);
        writeFileSync(driverCache, JSON.stringify({ key: driverKey, result: { ...verdict, usable: !verdict.usable, reason: "planted" } }));
        expect(await auto.accel(image)).toBe(verdict.usable ? "tcg" : "kvm");
      } else {
        expect(verdict).toEqual({ usable: false, reason: "no /dev/kvm", ms: 0 });
        expect(existsSync(driverCache)).toBe(false);
        expect(await auto.accel(image)).toBe("tcg");
      }
      expect(await auto.accel(image)).toBe((await auto.kvmProbe(image.kernel)).usable ? "kvm" : "tcg");
      expect(await new QemuDriver({ binary: driver.binary, kvm: "on", kvmProbeCache: join(dir, "on.json") }).accel(image)).toBe("kvm");
      expect(await new QemuDriver({ binary: driver.binary, kvm: "off", kvmProbeCache: join(dir, "off.json") }).accel(image)).toBe("tcg");
      expect(existsSync(join(dir, "on.json")) || existsSync(join(dir, "off.json"))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a missing image and a snapshot taken with another shape, before starting QEMU", async () => {
    const driver = getTestDriver();
    const image = await getTestImage();
    const before = driver.running().length;
    const missing = { ...image, kernel: "/nonexistent/vmlinux" };
    await expect(driver.start({ image: missing, memoryMiB: 256, vcpus: 1, workspaceMiB: 16, network: false })).rejects.toMatchObject({
      code: "image_missing",
      message: expect.stringMatching(/setup\.sh/),
    });
    const snapshot = (await getTestPool()).snapshot!;
    await expect(driver.start({ image, memoryMiB: 1024, vcpus: 1, workspaceMiB: 16, network: false, restore: snapshot })).rejects.toMatchObject({
      code: "snapshot_mismatch",
    });
    expect(driver.running().length).toBe(before);
  });
});

describe("QEMU microvm", () => {
  it("boots cold with a NIC when asked, answers, and stops", async () => {
    const driver = getTestDriver();
    const image = await getTestImage();
    const vm = await driver.start({ image, memoryMiB: 384, vcpus: 1, workspaceMiB: 32, network: true });
    try {
      const ready = await vm.ready(COLD_BOOT_MS);
      expect(ready.protocolVersion).toBe(PROTOCOL_VERSION);
      const r = await sh(vm, "ls /sys/class/net; id -u; cat /sys/class/net/eth0/operstate /etc/resolv.conf");
      expect(r.exitCode).toBe(0);
      expect(r.out.split("\n")).toEqual(expect.arrayContaining(["eth0", "lo", "1000", "up", "nameserver 10.0.2.3"]));
    } finally {
      const exit = await vm.stop();
      expect(exit.reason).toBe(VmExitReason.Stopped);
    }
    expect(() => process.kill(vm.pid, 0)).toThrow();
    await expect(vm.channel()).rejects.toThrow(/exited/);
  }, COLD_BOOT_MS + 60_000); // a cold TCG boot on a busy machine: as long as the wait inside allows

  it("restores from the template with no NIC, the limits applied and /workspace intact", async () => {
    const pool = await getTestPool();
    const vm = await acquireTestVm();
    try {
      expect(pool.snapshot?.spec.network).toBe(false);
      const r = await sh(
        vm,
        [
          "ls /sys/class/net",
          "cat /sys/class/net/lo/operstate",
          "id -u",
          "awk '/Max processes/ {print $3}' /proc/self/limits",
          "nproc",
          "awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo",
          "df -m /workspace | awk 'NR==2 {print $2}'",
          "ls -a /workspace",
          "readlink /large_tool_results /conversation_history",
          "touch /usr/x 2>&1 || echo ro-root",
          "echo hi > /workspace/f && cat /workspace/f",
          "python3 -c 'import json; print(json.dumps([1]))'",
        ].join("; "),
      );
      const lines = r.out.trim().split("\n");
      expect(lines[0]).toBe("lo"); // only loopback: no NIC
      expect(lines[1]).toBe("unknown"); // lo is up (loopback reports "unknown" when up)
      expect(lines[2]).toBe("1000");
      expect(lines[3]).toBe("256");
      expect(lines[4]).toBe(String(pool.shape.vcpus));
      expect(Number(lines[5])).toBeGreaterThan(pool.shape.memoryMiB - 100);
      expect(Number(lines[5])).toBeLessThanOrEqual(pool.shape.memoryMiB);
      expect(lines[6]).toBe(String(pool.shape.workspaceMiB));
      expect(r.out).toContain(".large_tool_results");
      expect(r.out).toContain("/workspace/.large_tool_results\n/workspace/.conversation_history");
      expect(r.out).toContain("ro-root");
      expect(r.out).toContain("hi\n[1]");
    } finally {
      await vm.kill();
    }
  });

  it("reports a QEMU killed from outside through exited, and the channel closes", async () => {
    const vm = await acquireTestVm();
    const client = await GuestClient.connect(await vm.channel());
    process.kill(vm.pid, "SIGKILL");
    const exit = await vm.exited;
    expect(exit.reason).toBe(VmExitReason.VmmDied);
    expect(exit.signal).toBe("SIGKILL");
    const why = await client.closed;
    expect(why.message).toMatch(/closed|ended/);
    await expect(vm.channel()).rejects.toThrow(/exited/);
  });

  it("kill() ends the VM at once and says so", async () => {
    const vm = await acquireTestVm();
    const exit = await vm.kill();
    expect(exit.reason).toBe(VmExitReason.Killed);
    expect(() => process.kill(vm.pid, 0)).toThrow();
  });
});
