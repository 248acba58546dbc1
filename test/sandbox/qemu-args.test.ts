/**
 * The QEMU command line and restore URI follow the QEMU release: `-runas`/`-chroot` until QEMU
 * replaced them with `-run-with` (chroot= from 8.1, user= from 9.1; 9.0 removed -chroot, 10.0
 * -runas), and a restore reads its state through `fd:3` until `file:` with a descriptor set (9.0;
 * 9.1 deprecated `fd:` on a plain file). QEMU 7.2's command line stays exactly what it was.
 */
import type { VmSpec } from "../../src/sandbox/vmm/driver.ts";
import { qemuArgs, qemuFeatures, qemuRelease, restoreUri, type QemuPaths, type QemuRelease } from "../../src/sandbox/vmm/qemu-args.ts";

const image = { hash: "h", dir: "/i", kernel: "/i/vmlinux", initrd: "/i/initrd.cpio", rootfs: "/i/rootfs.ext4", cmdline: "quiet" };
const spec: VmSpec = { image, memoryMiB: 300, vcpus: 1, workspaceMiB: 40, network: false };
const paths: QemuPaths = { agentSocket: "/r/a.sock", qmpSocket: "/r/q.sock", console: "/r/c.log", pidFile: "/r/p" };
const rooted: QemuPaths = { ...paths, runAs: "vibewriter-vm", chroot: "/r" };
const restoring: QemuPaths = { ...rooted, ramFile: "/s/memory", ramShared: false, incoming: true };
const templating: QemuPaths = { ...rooted, ramFile: "/r/memory", ramShared: true };

const R = (major: number, minor: number): QemuRelease => ({ major, minor });
const V7_2 = R(7, 2);
const V8_2 = R(8, 2);
const V9_0 = R(9, 0);
const V9_1 = R(9, 1);
const V10_0 = R(10, 0);

/** The option after `flag`, or undefined; and every occurrence count, so a flag cannot appear twice. */
function valueOf(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}
function count(args: string[], flag: string): number {
  return args.filter((a) => a === flag).length;
}

// The arguments the driver passed before it knew about releases (its output, captured verbatim).
const COMMON_7_2 = [
  "-M", "microvm,memory-backend=mem", "-accel", "tcg,tb-size=32", "-cpu", "qemu64,+arat", "-m", "300M", "-smp", "1",
  "-nodefaults", "-no-user-config", "-nographic", "-no-reboot", "-kernel", "/i/vmlinux", "-initrd", "/i/initrd.cpio",
  "-append", "quiet tsc_early_khz=2000000 lpj=4000000 tsc=reliable reboot=t panic=-1 vw.ws=40 vw.net=0",
  "-drive", "id=root,file=/i/rootfs.ext4,format=raw,if=none,readonly=on", "-device", "virtio-blk-device,drive=root",
  "-object", "rng-random,filename=/dev/urandom,id=rng0", "-device", "virtio-rng-device,rng=rng0",
  "-device", "virtio-serial-device", "-chardev", "socket,id=agent,path=/r/a.sock,server=on,wait=off",
  "-device", "virtserialport,chardev=agent,name=agent", "-qmp", "unix:/r/q.sock,server=on,wait=off",
  "-serial", "file:/r/c.log", "-pidfile", "/r/p",
  "-sandbox", "on,obsolete=deny,elevateprivileges=allow,spawn=deny,resourcecontrol=deny",
  "-runas", "vibewriter-vm", "-chroot", "/r",
];

describe("the QEMU release", () => {
  it("is read from the --version line and from the driver's version string", () => {
    expect(qemuRelease("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)")).toEqual(V7_2);
    expect(qemuRelease("QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1) (args r4)")).toEqual(V10_0);
    expect(qemuRelease("QEMU emulator version 9.1.0")).toEqual(V9_1);
  });

  it("refuses a line that names no QEMU release, quoting it", () => {
    expect(() => qemuRelease("qemu-kvm 1.0\nmore")).toThrow(/cannot tell the QEMU release from "qemu-kvm 1.0"/);
  });

  it("decides each spelling at the release that introduced it", () => {
    expect(qemuFeatures(V7_2)).toEqual({ runWithChroot: false, runWithUser: false, fileMigration: false, readonlyTemplate: false });
    expect(qemuFeatures(R(8, 0))).toEqual({ runWithChroot: false, runWithUser: false, fileMigration: false, readonlyTemplate: false });
    expect(qemuFeatures(R(8, 1))).toEqual({ runWithChroot: true, runWithUser: false, fileMigration: false, readonlyTemplate: false });
    expect(qemuFeatures(V8_2)).toEqual({ runWithChroot: true, runWithUser: false, fileMigration: false, readonlyTemplate: true });
    expect(qemuFeatures(V9_0)).toEqual({ runWithChroot: true, runWithUser: false, fileMigration: true, readonlyTemplate: true });
    expect(qemuFeatures(V9_1)).toEqual({ runWithChroot: true, runWithUser: true, fileMigration: true, readonlyTemplate: true });
    expect(qemuFeatures(V10_0)).toEqual({ runWithChroot: true, runWithUser: true, fileMigration: true, readonlyTemplate: true });
    expect(qemuFeatures(R(11, 0))).toEqual({ runWithChroot: true, runWithUser: true, fileMigration: true, readonlyTemplate: true });
  });
});

describe("qemu arguments by release", () => {
  it("7.2: byte-for-byte the command lines of before (restore and template)", () => {
    expect(qemuArgs(spec, restoring, "tcg", 32, V7_2)).toEqual([
      ...COMMON_7_2,
      "-object", "memory-backend-file,id=mem,size=300M,mem-path=/s/memory,share=off",
      "-incoming", "defer",
    ]);
    expect(qemuArgs(spec, templating, "tcg", 32, V7_2)).toEqual([
      ...COMMON_7_2,
      "-object", "memory-backend-file,id=mem,size=300M,mem-path=/r/memory,share=on",
    ]);
    expect(restoreUri(V7_2)).toBe("fd:3");
  });

  it("8.2: -runas, but the chroot through -run-with (-chroot is deprecated there); restore still by fd:3", () => {
    const args = qemuArgs(spec, restoring, "tcg", 32, V8_2);
    expect(valueOf(args, "-runas")).toBe("vibewriter-vm");
    expect(args).not.toContain("-chroot");
    expect(count(args, "-run-with")).toBe(1);
    expect(valueOf(args, "-run-with")).toBe("chroot=/r");
    expect(args).not.toContain("-add-fd");
    expect(args.slice(-2)).toEqual(["-incoming", "defer"]);
    expect(restoreUri(V8_2)).toBe("fd:3");
  });

  it("9.0: -runas and -run-with chroot= (-chroot is gone); restore through file: on a descriptor set holding fd 3", () => {
    const args = qemuArgs(spec, restoring, "tcg", 32, V9_0);
    expect(valueOf(args, "-runas")).toBe("vibewriter-vm");
    expect(args).not.toContain("-chroot");
    expect(valueOf(args, "-run-with")).toBe("chroot=/r");
    expect(valueOf(args, "-add-fd")).toBe("fd=3,set=1");
    expect(args.indexOf("-add-fd")).toBeLessThan(args.indexOf("-incoming"));
    expect(restoreUri(V9_0)).toBe("file:/dev/fdset/1");
  });

  for (const release of [V9_1, V10_0]) {
    it(`${release.major}.${release.minor}: one -run-with user=…,chroot=…, no -runas/-chroot; restore through file:`, () => {
      const args = qemuArgs(spec, restoring, "tcg", 32, release);
      expect(args).not.toContain("-runas");
      expect(args).not.toContain("-chroot");
      expect(count(args, "-run-with")).toBe(1);
      expect(valueOf(args, "-run-with")).toBe("user=vibewriter-vm,chroot=/r");
      expect(valueOf(args, "-add-fd")).toBe("fd=3,set=1");
      expect(valueOf(args, "-incoming")).toBe("defer");
      expect(restoreUri(release)).toBe("file:/dev/fdset/1");
      // Seccomp keeps set*id allowed: QEMU's own drop to the user comes after the filter.
      expect(valueOf(args, "-sandbox")).toBe("on,obsolete=deny,elevateprivileges=allow,spawn=deny,resourcecontrol=deny");
      // The template's RAM is opened read-only (mapped private): no write access to it is needed.
      expect(args).toContain("memory-backend-file,id=mem,size=300M,mem-path=/s/memory,share=off,readonly=on,rom=off");
      // Everything else is the 7.2 command line.
      const rest = args.filter((_, i) => !["-run-with", "-add-fd"].includes(args[i]!) && !["-run-with", "-add-fd"].includes(args[i - 1]!));
      expect(rest).toEqual(
        qemuArgs(spec, restoring, "tcg", 32, V7_2)
          .filter((a, i, all) => !["-runas", "-chroot"].includes(a) && !["-runas", "-chroot"].includes(all[i - 1]!))
          .map((a) => (a.endsWith("share=off") ? `${a},readonly=on,rom=off` : a)),
      );
    });
  }

  it("a template (no restore) never gets a descriptor set nor read-only RAM, on any release", () => {
    for (const release of [V7_2, V8_2, V9_0, V9_1, V10_0]) {
      expect(qemuArgs(spec, templating, "tcg", 32, release).join(" ")).not.toContain("readonly=on,rom=off");
      expect(qemuArgs(spec, templating, "tcg", 32, release)).not.toContain("-add-fd");
      expect(qemuArgs(spec, templating, "tcg", 32, release)).not.toContain("-incoming");
    }
  });

  it("a host that is not root gets no privilege flags on any release", () => {
    for (const release of [V7_2, V8_2, V9_0, V9_1, V10_0]) {
      const args = qemuArgs(spec, paths, "tcg", 32, release);
      for (const flag of ["-runas", "-chroot", "-run-with"]) expect(args).not.toContain(flag);
      expect(valueOf(args, "-sandbox")).toContain("elevateprivileges=deny");
    }
  });

  it("doubles commas inside -run-with values (QemuOpts), so a run folder cannot add options", () => {
    const args = qemuArgs(spec, { ...paths, runAs: "vm", chroot: "/tmp/a,user=root" }, "tcg", 32, V10_0);
    expect(valueOf(args, "-run-with")).toBe("user=vm,chroot=/tmp/a,,user=root");
    // The old flags take the path whole.
    expect(valueOf(qemuArgs(spec, { ...paths, runAs: "vm", chroot: "/tmp/a,b" }, "tcg", 32, V7_2), "-chroot")).toBe("/tmp/a,b");
  });
});
