import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, existsSync, openSync, closeSync } from "node:fs";
import { chmod, chown, link, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { childEnv } from "../../config/child-env.ts";
import { statePath } from "../../config/paths.ts";
import {
  Accel,
  validateSpec,
  VmExitReason,
  VmmError,
  VmmErrorCode,
  type AgentReady,
  type GuestImage,
  type VmExit,
  type VmHandle,
  type VmmDriver,
  type VmSnapshot,
  type VmSpec,
} from "./driver.ts";
import { agentHandshake } from "./handshake.ts";
import { probeKvm, type KvmProbeResult } from "./kvm-probe.ts";
import { QEMU_ARGS_REVISION, qemuArgs, qemuFeatures, qemuRelease, restoreUri, type QemuPaths, type QemuRelease } from "./qemu-args.ts";
import { QmpClient, type QmpEvent } from "./qmp.ts";
import { exitFromGuardian, resolveVmUser, spawnQemu, VM_USER, type SpawnedQemu, type VmUser } from "./qemu-privileges.ts";
import { pidAlive } from "../pid-alive.ts";

/** QEMU `-M microvm` driver (NOTES: PVH vmlinux, virtio-serial agent port, QMP, TCG or KVM). */
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
    if (spec.restore) checkSnapshot(spec, spec.restore, qemuVersion, accel);

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

function checkSnapshot(spec: VmSpec, snap: VmSnapshot, qemuVersion: string, accel: Accel): void {
  const want = { memoryMiB: spec.memoryMiB, vcpus: spec.vcpus, workspaceMiB: spec.workspaceMiB, network: spec.network, imageHash: spec.image.hash };
  const have = { memoryMiB: snap.spec.memoryMiB, vcpus: snap.spec.vcpus, workspaceMiB: snap.spec.workspaceMiB, network: snap.spec.network, imageHash: snap.spec.imageHash };
  if (JSON.stringify(want) !== JSON.stringify(have)) {
    throw new VmmError(VmmErrorCode.SnapshotMismatch, `snapshot ${snap.dir} was taken with ${JSON.stringify(have)}, not ${JSON.stringify(want)}`);
  }
  if (snap.driver !== QEMU_DRIVER_NAME || snap.driverVersion !== `${qemuVersion} ${accel}`) {
    throw new VmmError(VmmErrorCode.SnapshotMismatch, `snapshot ${snap.dir} is from ${snap.driver} ${snap.driverVersion}, not ${QEMU_DRIVER_NAME} ${qemuVersion} ${accel}`);
  }
}

class QemuVm implements VmHandle {
  private qemuPid: number;
  private readonly child: ChildProcess;
  readonly exited: Promise<VmExit>;
  private qmp: QmpClient | null = null;
  private booted = false;
  private wanted: "stop" | "kill" | null = null;
  private stderr = "";
  private channelP: Promise<Socket> | null = null;
  private readyP: Promise<AgentReady> | null = null;
  private exit: VmExit | null = null;
  private readonly startedAt = Date.now();

  constructor(
    readonly id: string,
    readonly dir: string,
    readonly spec: VmSpec,
    readonly accel: Accel,
    private readonly paths: QemuPaths,
    private readonly spawned: SpawnedQemu,
    private readonly qemuVersion: string,
    private readonly release: QemuRelease,
    private readonly driverName: string,
    private readonly user: VmUser | null,
  ) {
    const child = spawned.child;
    this.child = child;
    this.qemuPid = user ? -1 : (child.pid ?? -1);
    child.stderr!.on("data", (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    this.exited = new Promise<VmExit>((resolve) => {
      const done = (rawCode: number | null, rawSignal: NodeJS.Signals | null) => {
        const { code, signal } = this.user ? exitFromGuardian(rawCode, rawSignal) : { code: rawCode, signal: rawSignal };
        const reason = !this.booted
          ? VmExitReason.StartFailed
          : this.wanted === "kill"
            ? VmExitReason.Killed
            : this.wanted === "stop"
              ? VmExitReason.Stopped
              : code === 0
                ? VmExitReason.GuestExit
                : VmExitReason.VmmDied;
        this.qmp?.close();
        void this.log().then((log) => {
          this.exit = { reason, code, signal, log };
          resolve(this.exit);
          // A template's RAM file has been handed to its snapshot (hard link) by then.
          void rm(this.dir, { recursive: true, force: true });
        });
      };
      child.once("exit", done);
      child.once("error", (e) => {
        this.stderr += `\n${String(e)}`;
        done(null, null);
      });
    });
  }

  /** Host pid of QEMU itself (known once `start()` has resolved). */
  get pid(): number {
    return this.qemuPid;
  }

  /** Waits for QMP; when restoring, loads the snapshot and resumes the guest. */
  async boot(): Promise<void> {
    try {
      this.qemuPid = await this.untilExit(this.spawned.pid, "QEMU did not start");
      this.qmp = await this.untilExit(connectWhenListening(this.paths.qmpSocket, this.exited), "QMP did not come up");
      if (this.spec.restore) {
        await this.qmp.execute("migrate-set-capabilities", {
          capabilities: [
            { capability: "x-ignore-shared", state: true },
            { capability: "events", state: true },
          ],
        });
        const done = waitMigration(this.qmp);
        await this.qmp.execute("migrate-incoming", { uri: restoreUri(this.release) });
        await this.untilExit(done, "restore did not complete");
        const status = await this.qmp.execute<{ status: string }>("query-status");
        if (status.status !== "running") await this.qmp.execute("cont");
      }
      this.booted = true;
    } catch (err) {
      this.killSync();
      const exit = await this.exited;
      throw new VmmError(VmmErrorCode.StartFailed, `QEMU failed to start VM ${this.id}: ${(err as Error).message}\n${exit.log}`, { cause: err });
    }
  }

  ready(timeoutMs = 60_000): Promise<AgentReady> {
    this.readyP ??= this.handshake(timeoutMs);
    return this.readyP;
  }

  async channel(): Promise<Duplex> {
    if (this.exit) throw new VmmError(VmmErrorCode.VmExited, `VM ${this.id} has exited (${this.exit.reason})`);
    this.channelP ??= this.untilExit(
      connectUnix(this.paths.agentSocket).then((sock) => {
        // A reset when QEMU dies must not crash the host process: consumers see it as `close`.
        sock.on("error", () => {});
        return sock;
      }),
      "cannot connect to the agent port",
    );
    return this.channelP;
  }

  async stop(timeoutMs = 5000): Promise<VmExit> {
    if (this.exit) return this.exit;
    this.wanted ??= "stop";
    await this.qmp?.execute("quit").catch(() => {});
    const timer = setTimeout(() => this.killSync(), timeoutMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  async kill(): Promise<VmExit> {
    this.killSync();
    return this.exited;
  }

  killSync(): void {
    if (this.exit) return;
    this.wanted = "kill";
    try {
      if (this.user) {
        // QEMU runs under a guardian shell: kill QEMU itself; the guardian then exits with its
        // status. Before QEMU's pid is known, SIGTERM makes the guardian kill it.
        if (this.qemuPid > 0) process.kill(this.qemuPid, "SIGKILL");
        else this.child.kill("SIGTERM");
      } else this.child.kill("SIGKILL");
    } catch {
      /* already gone */
    }
  }

  async snapshot(dir: string): Promise<VmSnapshot> {
    if (!this.spec.snapshotable || !this.paths.ramFile) {
      throw new VmmError(VmmErrorCode.Unsupported, `VM ${this.id} was not started with snapshotable: true`);
    }
    if (!this.qmp || this.exit) throw new VmmError(VmmErrorCode.VmExited, `VM ${this.id} is not running`);
    const qmp = this.qmp;
    try {
      await mkdir(dir, { recursive: true });
      const stateFile = join(dir, "state");
      const memoryFile = join(dir, "memory");
      await qmp.execute("stop");
      await qmp.execute("migrate-set-capabilities", {
        capabilities: [
          { capability: "x-ignore-shared", state: true },
          { capability: "events", state: true },
        ],
      });
      const done = waitMigration(qmp);
      const received = await this.receiveState(stateFile);
      try {
        await qmp.execute("migrate", { uri: `unix:${received.qemuPath}` });
        await this.untilExit(done, "snapshot migration did not complete");
        await this.untilExit(received.written, "the snapshot state was not written");
      } finally {
        received.close();
      }
      // The RAM file now belongs to the snapshot (linked before the run folder is removed on
      // exit): the template must never run again.
      await rm(memoryFile, { force: true });
      await link(this.paths.ramFile, memoryFile).catch(() => copySparse(this.paths.ramFile!, memoryFile));
      await this.kill();
      // Read-only from now on: clones map it copy-on-write, and no unprivileged QEMU may open it
      // for writing. QEMU < 8.2 opens share=off files read-write: root's QEMU still can (then drops
      // to vibewriter-vm); an ordinary user's QEMU needs the owner's write bit, which protects
      // nothing from that user anyway (they own the file).
      const readonly = process.getuid?.() === 0 || qemuFeatures(this.release).readonlyTemplate;
      await chmod(memoryFile, readonly ? 0o444 : 0o644);
      await chmod(stateFile, 0o444);
      const { restore: _r, snapshotable: _s, image, accel: _a, ...rest } = this.spec;
      const snap: VmSnapshot = {
        dir,
        driver: this.driverName,
        driverVersion: `${this.qemuVersion} ${this.accel}`,
        spec: { ...rest, imageHash: image.hash },
        memoryFile,
        stateFile,
      };
      await writeFile(join(dir, "snapshot.json"), JSON.stringify(snap, null, 2));
      return snap;
    } catch (err) {
      if (VmmError.isInstance(err)) throw err;
      throw new VmmError(VmmErrorCode.SnapshotFailed, `snapshot of VM ${this.id} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Listens on a socket in the run folder for QEMU's outgoing migration stream (an `exec:`
   * migration would need spawning, denied by seccomp) and writes it to `stateFile`. The socket is
   * the VM user's so a QEMU that dropped root can connect; its path is given as QEMU sees it.
   */
  private async receiveState(stateFile: string): Promise<{ qemuPath: string; written: Promise<void>; close: () => void }> {
    const path = join(this.dir, "migrate.sock");
    const server = createServer();
    let resolveWritten!: () => void;
    let rejectWritten!: (e: Error) => void;
    const written = new Promise<void>((resolve, reject) => {
      resolveWritten = resolve;
      rejectWritten = reject;
    });
    written.catch(() => {});
    server.once("connection", (sock) => {
      server.close();
      const out = createWriteStream(stateFile);
      out.on("error", rejectWritten);
      sock.on("error", rejectWritten);
      out.on("finish", () => resolveWritten());
      sock.pipe(out);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => resolve());
    });
    if (this.user) await chown(path, this.user.uid, this.user.gid);
    await chmod(path, 0o600);
    return { qemuPath: this.paths.chroot ? "/migrate.sock" : path, written, close: () => server.close() };
  }

  /** Connect to the agent port and run the driver's handshake (see driver.ts), with a timeout. */
  private async handshake(timeoutMs: number): Promise<AgentReady> {
    const sock = (await this.channel()) as Socket;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new VmmError(VmmErrorCode.NotReady, `VM ${this.id}: the guest agent did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const hello = await Promise.race([this.untilExit(agentHandshake(sock, `VM ${this.id}`), "the guest agent never answered"), timeout]);
      return { ...hello, readyMs: Date.now() - this.startedAt };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Races a step against the VM's exit, so a dead QEMU fails the step with its log. */
  private untilExit<T>(p: Promise<T>, what: string): Promise<T> {
    return Promise.race([
      p,
      this.exited.then((exit) => {
        throw new VmmError(VmmErrorCode.VmExited, `VM ${this.id}: ${what}: QEMU exited (${exit.reason}, code ${exit.code}, signal ${exit.signal})\n${exit.log}`);
      }),
    ]);
  }

  private async log(): Promise<string> {
    const console = await readFile(this.paths.console, "utf8").catch(() => "");
    const tail = (s: string) => s.trim().split("\n").slice(-20).join("\n");
    return [tail(this.stderr), tail(console)].filter(Boolean).join("\n--- guest console ---\n");
  }
}

function waitMigration(qmp: QmpClient): Promise<void> {
  return new Promise((resolve, reject) => {
    const onEvent = (e: QmpEvent) => {
      if (e.event !== "MIGRATION") return;
      const status = e.data?.status;
      if (status === "completed") {
        qmp.off("event", onEvent);
        resolve();
      } else if (status === "failed" || status === "cancelled") {
        qmp.off("event", onEvent);
        reject(new Error(`migration ${String(status)}`));
      }
    };
    qmp.on("event", onEvent);
  });
}

/** Another filesystem: copy the RAM file keeping its holes (most of guest RAM was never touched). */
function copySparse(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const cp = spawn("cp", ["--sparse=always", from, to], { env: childEnv(), stdio: "ignore" });
    cp.on("error", reject);
    cp.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`cp ${from} ${to} failed (${code})`))));
  });
}

function connectUnix(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    s.once("connect", () => {
      s.off("error", reject);
      resolve(s);
    });
    s.once("error", reject);
  });
}

/** QEMU creates its QMP socket a few ms after starting: retry connecting until it listens or QEMU exits. */
async function connectWhenListening(path: string, exited: Promise<unknown>): Promise<QmpClient> {
  let gone = false;
  void exited.then(() => (gone = true));
  for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
    try {
      return await QmpClient.connect(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (gone || (code !== "ENOENT" && code !== "ECONNREFUSED")) throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
