import type { Accel, VmSpec } from "./driver.ts";
import { GuestCmdline } from "../image/guest-scripts.ts";
import { sandboxArg } from "./qemu-privileges.ts";

/**
 * The QEMU `microvm` command line for a spec: a pure function, so the exact arguments are easy to
 * read and to test. Template and clones must get the same devices (a snapshot restores device
 * state), which is why the RAM backend and the device list depend only on the spec.
 */
export interface QemuPaths {
  agentSocket: string;
  qmpSocket: string;
  console: string;
  pidFile: string;
  /** Guest RAM file (snapshotable template: shared; restored clone: the snapshot's, private). */
  ramFile?: string;
  ramShared?: boolean;
  /** Restoring: start paused, waiting for `migrate-incoming`. */
  incoming?: boolean;
  /** Root host: the user QEMU drops to once set up, and the folder it chroots into (its run dir). */
  runAs?: string;
  chroot?: string;
}

/**
 * Kernel arguments for TCG only. Without tsc_early_khz the guest hangs calibrating (NOTES).
 * tsc=reliable: on a loaded host the clocksource watchdog sees jiffies lag behind and demotes the
 * TSC to low-resolution jiffies; TCG's TSC follows the host clock, so it is the better clock.
 */
const TCG_CMDLINE = "tsc_early_khz=2000000 lpj=4000000 tsc=reliable";

/**
 * The default TCG model plus ARAT (always-running APIC timer). Without it the guest assumes its
 * local APIC timer stops in deep idle, finds no broadcast timer on microvm, and keeps a periodic
 * 250 Hz tick: an idle VM then cost ~10% of a host core. With it the tick stops when idle
 * (measured: 247 → 12 timer interrupts per second).
 */
const TCG_CPU = "qemu64,+arat";

/** A QEMU release, as `qemu-system-x86_64 --version` names it ("QEMU emulator version 10.0.2 …"). */
export interface QemuRelease {
  major: number;
  minor: number;
}

/** The release in a `--version` line (or the driver's version string, which starts with it). */
export function qemuRelease(version: string): QemuRelease {
  const m = /QEMU emulator version (\d+)\.(\d+)/.exec(version);
  if (!m) throw new Error(`cannot tell the QEMU release from ${JSON.stringify(version.split("\n")[0])}`);
  return { major: Number(m[1]), minor: Number(m[2]) };
}

function atLeast(r: QemuRelease, major: number, minor: number): boolean {
  return r.major > major || (r.major === major && r.minor >= minor);
}

/**
 * Which spelling of each version-dependent feature a release takes (QEMU's docs/about/
 * deprecated.rst and removed-features.rst):
 * - chroot: `-run-with chroot=` exists from 8.1, where `-chroot` was deprecated; 9.0 removed `-chroot`.
 * - user: `-run-with user=` exists from 9.1, where `-runas` was deprecated; 10.0 removed `-runas`.
 * - restore: the `file:` migration URI reads a descriptor set (`/dev/fdset/N`, from `-add-fd`) from
 *   9.0; 9.1 deprecated `fd:` on anything but a socket. 7.2 has no `file:` URI at all.
 * - template RAM: from 8.2 a `share=off` memory file can be opened read-only (`readonly=on,rom=off`:
 *   mapped private and writable, copy-on-write); before, QEMU opens it read-write even though it
 *   never writes it, so a read-only template file can only be restored by root.
 */
export function qemuFeatures(r: QemuRelease): { runWithChroot: boolean; runWithUser: boolean; fileMigration: boolean; readonlyTemplate: boolean } {
  return { runWithChroot: atLeast(r, 8, 1), runWithUser: atLeast(r, 9, 1), fileMigration: atLeast(r, 9, 0), readonlyTemplate: atLeast(r, 8, 2) };
}

/**
 * A restore reads the snapshot's device state from a file the host opened and handed to QEMU as
 * its fd 3 (no `exec:`: seccomp denies spawning; no path: QEMU may be chrooted). Older QEMUs take
 * the fd itself (`fd:3`); newer ones a descriptor set holding it (`-add-fd`, then `file:`).
 */
export const RESTORE_STATE_FD = 3;
const RESTORE_FDSET = 1;

/** The `migrate-incoming` URI a restore uses on this release. */
export function restoreUri(r: QemuRelease): string {
  return qemuFeatures(r).fileMigration ? `file:/dev/fdset/${RESTORE_FDSET}` : `fd:${RESTORE_STATE_FD}`;
}

/** A value inside a QemuOpts list (`-run-with a=…,b=…`): commas are doubled. */
function optValue(value: string): string {
  return value.replaceAll(",", ",,");
}

/** Bumped whenever the command line changes what a guest looks like: it is part of the driver
 * version, so templates snapshotted with older arguments are not restored. */
export const QEMU_ARGS_REVISION = 4;

export function qemuArgs(spec: VmSpec, paths: QemuPaths, accel: Accel, tbSizeMiB: number, release: QemuRelease): string[] {
  const features = qemuFeatures(release);
  const cmdline = [
    spec.image.cmdline,
    accel === "tcg" ? TCG_CMDLINE : "",
    "reboot=t panic=-1",
    `${GuestCmdline.workspaceMiB}=${spec.workspaceMiB}`,
    `${GuestCmdline.network}=${spec.network ? 1 : 0}`,
  ]
    .filter(Boolean)
    .join(" ");
  const args = [
    "-M", paths.ramFile ? "microvm,memory-backend=mem" : "microvm",
    ...(accel === "kvm" ? ["-accel", "kvm", "-cpu", "host"] : ["-accel", `tcg,tb-size=${tbSizeMiB}`, "-cpu", TCG_CPU]),
    "-m", `${spec.memoryMiB}M`,
    "-smp", String(spec.vcpus),
    "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
    "-kernel", spec.image.kernel,
    "-initrd", spec.image.initrd,
    "-append", cmdline,
    "-drive", `id=root,file=${spec.image.rootfs},format=raw,if=none,readonly=on`,
    "-device", "virtio-blk-device,drive=root",
    "-object", "rng-random,filename=/dev/urandom,id=rng0",
    "-device", "virtio-rng-device,rng=rng0",
    "-device", "virtio-serial-device",
    "-chardev", `socket,id=agent,path=${paths.agentSocket},server=on,wait=off`,
    "-device", "virtserialport,chardev=agent,name=agent",
    "-qmp", `unix:${paths.qmpSocket},server=on,wait=off`,
    "-serial", `file:${paths.console}`,
    "-pidfile", paths.pidFile,
    "-sandbox", sandboxArg(Boolean(paths.runAs)),
  ];
  const runWith: string[] = [];
  if (paths.runAs) {
    if (features.runWithUser) runWith.push(`user=${optValue(paths.runAs)}`);
    else args.push("-runas", paths.runAs);
  }
  if (paths.chroot) {
    if (features.runWithChroot) runWith.push(`chroot=${optValue(paths.chroot)}`);
    else args.push("-chroot", paths.chroot);
  }
  if (runWith.length) args.push("-run-with", runWith.join(","));
  if (spec.network) args.push("-netdev", "user,id=net0", "-device", "virtio-net-device,netdev=net0");
  if (paths.ramFile) {
    const readonly = !paths.ramShared && features.readonlyTemplate ? ",readonly=on,rom=off" : "";
    args.push("-object", `memory-backend-file,id=mem,size=${spec.memoryMiB}M,mem-path=${paths.ramFile},share=${paths.ramShared ? "on" : "off"}${readonly}`);
  }
  if (paths.incoming) {
    if (features.fileMigration) args.push("-add-fd", `fd=${RESTORE_STATE_FD},set=${RESTORE_FDSET}`);
    args.push("-incoming", "defer");
  }
  return args;
}
