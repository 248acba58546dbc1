import type { ChildProcess } from "node:child_process";
import { rm, readFile } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import {
  AGENT_READY_TIMEOUT_MS,
  VmExitReason,
  VmmError,
  VmmErrorCode,
  type Accel,
  type AgentReady,
  type VmExit,
  type VmHandle,
  type VmSnapshot,
  type VmSpec,
} from "./driver.ts";
import { agentHandshake } from "./handshake.ts";
import type { QemuPaths, QemuRelease } from "./qemu-args.ts";
import { exitFromGuardian, type SpawnedQemu, type VmUser } from "./qemu-privileges.ts";
import { restoreSnapshot, saveSnapshot } from "./qemu-snapshots.ts";
import { QmpClient } from "./qmp.ts";

/**
 * One QEMU microvm's lifecycle: the spawned process, QMP, the agent port, stop and kill, and how
 * it exited. Restoring and saving snapshots are `qemu-snapshots.ts`; `QemuDriver` (qemu.ts)
 * prepares the command line and spawns it.
 */
export class QemuVm implements VmHandle {
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
      if (this.spec.restore) await restoreSnapshot(this.qmp, this.release, (step, what) => this.untilExit(step, what));
      this.booted = true;
    } catch (err) {
      this.killSync();
      const exit = await this.exited;
      throw new VmmError(VmmErrorCode.StartFailed, `QEMU failed to start VM ${this.id}: ${(err as Error).message}\n${exit.log}`, { cause: err });
    }
  }

  ready(timeoutMs = AGENT_READY_TIMEOUT_MS): Promise<AgentReady> {
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
    return saveSnapshot(
      {
        id: this.id,
        runDir: this.dir,
        spec: this.spec,
        ramFile: this.paths.ramFile,
        chrooted: Boolean(this.paths.chroot),
        user: this.user,
        release: this.release,
        driver: this.driverName,
        driverVersion: `${this.qemuVersion} ${this.accel}`,
        qmp: this.qmp,
        untilExit: (step, what) => this.untilExit(step, what),
        kill: () => this.kill(),
      },
      dir,
    );
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
