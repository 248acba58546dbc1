import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, openSync, closeSync } from "node:fs";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { childEnv, pidAlive, statePath } from "../../config/index.ts";
import { Accel, validateSpec, VmmError, VmmErrorCode, type GuestImage, type VmHandle, type VmmDriver, type VmSpec } from "./driver.ts";
import { probeKvm, type KvmProbeResult } from "./kvm-probe.ts";
import { QEMU_ARGS_REVISION, qemuArgs, qemuRelease, type QemuPaths, type QemuRelease } from "./qemu-args.ts";
import { resolveVmUser, spawnQemu, VM_USER, type SpawnedQemu, type VmUser } from "./qemu-privileges.ts";
import { checkSnapshot } from "./qemu-snapshots.ts";
import { QemuVm } from "./qemu-vm.ts";

/**
 * QEMU `-M microvm` driver (NOTES: PVH vmlinux, virtio-serial agent port, QMP, TCG or KVM): it
 * probes the binary and KVM, prepares a VM's run folder and command line, and spawns it. A running
 * VM is a `QemuVm` (qemu-vm.ts); snapshots are qemu-snapshots.ts.
 */
export interface QemuDriverOptions {
  /** Default `qemu-system-x86_64` from PATH. */
  binary?: string;
  /** Per-VM folders (sockets, console log, RAM file). Kept short: unix socket paths max 107 bytes. */
  runDir?: string;
  /** TCG translation-cache size (NOTES: trims QEMU's RSS). */
  tbSizeMiB?: number;
  /** "auto" probes KVM once and caches the answer. */
  kvm?: "auto" | "on" | "off";
  /** Where the KVM probe result is cached. */
  kvmProbeCache?: string;
  /**
   * When the host runs as root, the user QEMU drops to after setting up (default `vibewriter-vm`,
   * falling back to `nobody` with a warning). Ignored when not root: QEMU then has nothing to drop.
   */
  runAs?: string;
  /** Chroot a root-started QEMU into its run folder after setup (default true). */
  chroot?: boolean;
}

export const QEMU_DRIVER_NAME = "qemu-microvm";

export class QemuDriver implements VmmDriver {
  readonly name = QEMU_DRIVER_NAME;
  readonly binary: string;
  readonly runDir: string;
  private readonly tbSizeMiB: number;
  private readonly kvmMode: "auto" | "on" | "off";
  private readonly kvmProbeCache: string;
  private versionP: Promise<string> | null = null;
  private probeP: Promise<KvmProbeResult> | null = null;
  private readonly live = new Set<QemuVm>();
  private counter = 0;
  private reaped: Promise<string[]> | null = null;
  private readonly runAsName: string;
  private readonly chroot: boolean;
  private vmUserResolved: VmUser | null | undefined;

  constructor(opts: QemuDriverOptions = {}) {
    this.binary = opts.binary ?? "qemu-system-x86_64";
    this.runDir = opts.runDir ?? join(tmpdir(), `vw-vms-${process.getuid?.() ?? 0}`);
    this.tbSizeMiB = opts.tbSizeMiB ?? 64;
    this.kvmMode = opts.kvm ?? ((process.env.VIBEWRITER_KVM as "auto" | "on" | "off" | undefined) || "auto");
    this.kvmProbeCache = opts.kvmProbeCache ?? statePath("vmm", "kvm-probe.json");
    this.runAsName = opts.runAs ?? VM_USER;
    this.chroot = opts.chroot ?? true;
  }

  /** The user QEMU runs as after dropping root (null: the host is not root, QEMU keeps its uid). */
  vmUser(): VmUser | null {
    if (this.vmUserResolved === undefined) this.vmUserResolved = resolveVmUser(this.runAsName);
    return this.vmUserResolved;
  }

  version(): Promise<string> {
    this.versionP ??= new Promise<string>((resolve, reject) => {
      const child = spawn(this.binary, ["--version"], { env: childEnv(), stdio: ["ignore", "pipe", "ignore"] });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.on("error", (e) =>
        reject(new VmmError(VmmErrorCode.BinaryMissing, `${this.binary} not found: run \`bash scripts/setup.sh\` (apt-get install qemu-system-x86)`, { cause: e })),
      );
      child.on("close", (code) => {
        const first = out.split("\n")[0]?.trim() ?? "";
        if (code === 0 && first) resolve(`${first} (args r${QEMU_ARGS_REVISION})`);
        else reject(new VmmError(VmmErrorCode.BinaryMissing, `${this.binary} --version failed (${code})`));
      });
    });
    this.versionP.catch(() => (this.versionP = null));
    return this.versionP;
  }

  /** The QEMU release the binary reports (its command line and migration URIs depend on it). */
  async release(): Promise<QemuRelease> {
    const version = await this.version();
    try {
      return qemuRelease(version);
    } catch (err) {
      throw new VmmError(VmmErrorCode.BinaryMissing, `${this.binary}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** The KVM probe's verdict (probing once, with the given kernel). */
  kvmProbe(kernel: string): Promise<KvmProbeResult> {
    this.probeP ??= this.version().then((v) => probeKvm({ qemu: this.binary, qemuVersion: v, kernel, cacheFile: this.kvmProbeCache }));
    return this.probeP;
  }

  async accel(image: GuestImage): Promise<Accel> {
    if (this.kvmMode === "off") return Accel.Tcg;
    if (this.kvmMode === "on") return Accel.Kvm;
    return (await this.kvmProbe(image.kernel)).usable ? Accel.Kvm : Accel.Tcg;
  }

  /** VMs started by this driver that have not exited yet. */
  running(): readonly VmHandle[] {
    return [...this.live];
  }

  /** Kills every VM this driver started (synchronous: usable from an exit handler). */
  killAllSync(): void {
    for (const vm of this.live) vm.killSync();
  }

  /**
   * Removes run folders left by VMs whose QEMU is gone (a host process that was SIGKILLed never
   * cleaned up; its QEMUs died with it through the parent-death signal). Runs once per driver.
   */
  async reapStale(): Promise<string[]> {
    const removed: string[] = [];
    for (const name of await readdir(this.runDir).catch(() => [] as string[])) {
      const dir = join(this.runDir, name);
      const pid = Number(await readFile(join(dir, "qemu.pid"), "utf8").catch(() => "0"));
      const ownerTag = /^vm([0-9a-z]+)-/.exec(name)?.[1]; // ids start with the owner's pid, base 36
      const owner = ownerTag ? parseInt(ownerTag, 36) : 0;
      if ((pid > 0 && pidAlive(pid)) || (owner > 0 && pidAlive(owner))) continue;
      await rm(dir, { recursive: true, force: true });
      removed.push(dir);
    }
    return removed;
  }

  async start(spec: VmSpec): Promise<VmHandle> {
    validateSpec(spec);
    this.reaped ??= this.reapStale().catch(() => []);
    await this.reaped;
    for (const f of [spec.image.kernel, spec.image.initrd, spec.image.rootfs]) {
      if (!existsSync(f)) throw new VmmError(VmmErrorCode.ImageMissing, `guest image file ${f} is missing: run \`bash scripts/setup.sh\``);
    }
    const qemuVersion = await this.version();
    const release = await this.release();
    const accel = spec.accel ?? (await this.accel(spec.image));
    if (spec.restore) checkSnapshot(spec, spec.restore, this.name, qemuVersion, accel);

    const id = `vm${process.pid.toString(36)}-${(this.counter++).toString(36)}-${randomBytes(3).toString("hex")}`;
    const dir = join(this.runDir, id);
    await mkdir(dir, { recursive: true });
    const paths: QemuPaths = {
      agentSocket: join(dir, "agent.sock"),
      qmpSocket: join(dir, "qmp.sock"),
      console: join(dir, "console.log"),
      pidFile: join(dir, "qemu.pid"),
    };
    if (spec.snapshotable) {
      paths.ramFile = join(dir, "memory");
      paths.ramShared = true;
    } else if (spec.restore) {
      paths.ramFile = spec.restore.memoryFile;
      paths.ramShared = false; // copy-on-write: the snapshot's file is never written
      paths.incoming = true;
    }
    if (Buffer.byteLength(paths.agentSocket) > 100) {
      throw new VmmError(VmmErrorCode.BadSpec, `run directory ${this.runDir} is too long for unix socket paths`);
    }
    const user = this.vmUser();
    if (user) {
      paths.runAs = user.name;
      if (this.chroot) paths.chroot = dir;
    }
    const args = qemuArgs(spec, paths, accel, this.tbSizeMiB, release);
    // A restore reads the snapshot's device state from an fd opened here (QEMU's fd 3, see
    // restoreUri): no `exec:` migration, so seccomp can deny spawning, and the chrooted QEMU needs
    // no path to it.
    const stateFd = spec.restore ? openSync(spec.restore.stateFile, "r") : null;
    let spawned: SpawnedQemu;
    try {
      spawned = spawnQemu(this.binary, args, Boolean(user), stateFd === null ? [] : [stateFd]);
    } finally {
      if (stateFd !== null) closeSync(stateFd);
    }
    const vm = new QemuVm(id, dir, spec, accel, paths, spawned, qemuVersion, release, this.name, user);
    this.live.add(vm);
    void vm.exited.then(() => this.live.delete(vm));
    await vm.boot();
    return vm;
  }
}
