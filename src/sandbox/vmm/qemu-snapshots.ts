import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { chmod, chown, link, mkdir, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { childEnv } from "../../config/index.ts";
import { VmmError, VmmErrorCode, type Accel, type VmExit, type VmSnapshot, type VmSpec } from "./driver.ts";
import { qemuFeatures, restoreUri, type QemuRelease } from "./qemu-args.ts";
import type { VmUser } from "./qemu-privileges.ts";
import type { QmpClient, QmpEvent } from "./qmp.ts";

/**
 * Snapshots of a QEMU microvm, as migrations: saving streams the device state out of a stopped
 * template (its RAM stays in the shared file, `x-ignore-shared`), restoring streams it into a QEMU
 * started with `-incoming` on a copy-on-write mapping of that file. The VM's lifecycle (spawn,
 * QMP, stop, kill) is `qemu-vm.ts`.
 */

/** Refuses a snapshot taken with another VM shape, image, driver build or accelerator. */
export function checkSnapshot(spec: VmSpec, snap: VmSnapshot, driverName: string, qemuVersion: string, accel: Accel): void {
  const want = { memoryMiB: spec.memoryMiB, vcpus: spec.vcpus, workspaceMiB: spec.workspaceMiB, network: spec.network, imageHash: spec.image.hash };
  const have = { memoryMiB: snap.spec.memoryMiB, vcpus: snap.spec.vcpus, workspaceMiB: snap.spec.workspaceMiB, network: snap.spec.network, imageHash: snap.spec.imageHash };
  if (JSON.stringify(want) !== JSON.stringify(have)) {
    throw new VmmError(VmmErrorCode.SnapshotMismatch, `snapshot ${snap.dir} was taken with ${JSON.stringify(have)}, not ${JSON.stringify(want)}`);
  }
  if (snap.driver !== driverName || snap.driverVersion !== `${qemuVersion} ${accel}`) {
    throw new VmmError(VmmErrorCode.SnapshotMismatch, `snapshot ${snap.dir} is from ${snap.driver} ${snap.driverVersion}, not ${driverName} ${qemuVersion} ${accel}`);
  }
}

/** Races a step against the VM's exit, so a dead QEMU fails the step with its log. */
export type UntilExit = <T>(step: Promise<T>, what: string) => Promise<T>;

/**
 * Loads the snapshot's device state into a QEMU started with `-incoming` (the state arrives on
 * the fd `restoreUri` names) and resumes the guest.
 */
export async function restoreSnapshot(qmp: QmpClient, release: QemuRelease, untilExit: UntilExit): Promise<void> {
  await setMigrationCapabilities(qmp);
  const done = waitMigration(qmp);
  await qmp.execute("migrate-incoming", { uri: restoreUri(release) });
  await untilExit(done, "restore did not complete");
  const status = await qmp.execute<{ status: string }>("query-status");
  if (status.status !== "running") await qmp.execute("cont");
}

/** What saving needs from a running VM started with `snapshotable: true`. */
export interface SnapshotSource {
  id: string;
  /** Its run folder (the migration socket goes there). */
  runDir: string;
  spec: VmSpec;
  /** Its shared RAM file, handed to the snapshot. */
  ramFile: string;
  /** QEMU is chrooted into `runDir` (it sees the socket at the root). */
  chrooted: boolean;
  /** The user QEMU dropped to (null: it kept the host's uid). */
  user: VmUser | null;
  release: QemuRelease;
  driver: string;
  driverVersion: string;
  qmp: QmpClient;
  untilExit: UntilExit;
  /** The template must never run again once its RAM file belongs to the snapshot. */
  kill(): Promise<VmExit>;
}

/** Saves the VM to `dir` (device state, RAM file, `snapshot.json`) and kills it. */
export async function saveSnapshot(vm: SnapshotSource, dir: string): Promise<VmSnapshot> {
  const { qmp } = vm;
  try {
    await mkdir(dir, { recursive: true });
    const stateFile = join(dir, "state");
    const memoryFile = join(dir, "memory");
    await qmp.execute("stop");
    await setMigrationCapabilities(qmp);
    const done = waitMigration(qmp);
    const received = await receiveState(vm, stateFile);
    try {
      await qmp.execute("migrate", { uri: `unix:${received.qemuPath}` });
      await vm.untilExit(done, "snapshot migration did not complete");
      await vm.untilExit(received.written, "the snapshot state was not written");
    } finally {
      received.close();
    }
    // The RAM file now belongs to the snapshot (linked before the run folder is removed on
    // exit): the template must never run again.
    await rm(memoryFile, { force: true });
    await link(vm.ramFile, memoryFile).catch(() => copySparse(vm.ramFile, memoryFile));
    await vm.kill();
    // Read-only from now on: clones map it copy-on-write, and no unprivileged QEMU may open it
    // for writing. QEMU < 8.2 opens share=off files read-write: root's QEMU still can (then drops
    // to vibewriter-vm); an ordinary user's QEMU needs the owner's write bit, which protects
    // nothing from that user anyway (they own the file).
    const readonly = process.getuid?.() === 0 || qemuFeatures(vm.release).readonlyTemplate;
    await chmod(memoryFile, readonly ? 0o444 : 0o644);
    await chmod(stateFile, 0o444);
    const { restore: _r, snapshotable: _s, image, accel: _a, ...rest } = vm.spec;
    const snap: VmSnapshot = {
      dir,
      driver: vm.driver,
      driverVersion: vm.driverVersion,
      spec: { ...rest, imageHash: image.hash },
      memoryFile,
      stateFile,
    };
    await writeFile(join(dir, "snapshot.json"), JSON.stringify(snap, null, 2));
    return snap;
  } catch (err) {
    if (VmmError.isInstance(err)) throw err;
    throw new VmmError(VmmErrorCode.SnapshotFailed, `snapshot of VM ${vm.id} failed: ${(err as Error).message}`, { cause: err });
  }
}

/** Both directions: RAM stays in the shared file (not streamed); completion comes as an event. */
function setMigrationCapabilities(qmp: QmpClient): Promise<unknown> {
  return qmp.execute("migrate-set-capabilities", {
    capabilities: [
      { capability: "x-ignore-shared", state: true },
      { capability: "events", state: true },
    ],
  });
}

/**
 * Listens on a socket in the run folder for QEMU's outgoing migration stream (an `exec:`
 * migration would need spawning, denied by seccomp) and writes it to `stateFile`. The socket is
 * the VM user's so a QEMU that dropped root can connect; its path is given as QEMU sees it.
 */
async function receiveState(vm: SnapshotSource, stateFile: string): Promise<{ qemuPath: string; written: Promise<void>; close: () => void }> {
  const path = join(vm.runDir, "migrate.sock");
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
  if (vm.user) await chown(path, vm.user.uid, vm.user.gid);
  await chmod(path, 0o600);
  return { qemuPath: vm.chrooted ? "/migrate.sock" : path, written, close: () => server.close() };
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
