/**
 * The VMM driver contract: what the sandbox layer needs from a virtual machine monitor. One
 * implementation per file (`qemu.ts` here; `firecracker.ts` later). The contract is shaped so that
 * both fit:
 *
 * - QEMU `-M microvm`: the agent channel is a virtio-serial port whose host end is a unix socket;
 *   control goes through QMP; snapshots are a RAM file plus a migration stream.
 * - Firecracker: control goes through its API socket (PUT /machine-config, /boot-source, /drives,
 *   /vsock, /actions, /snapshot/create, /snapshot/load); the agent channel is a vsock port the host
 *   reaches through the vsock unix socket with `CONNECT <port>\n` → `OK <hostport>\n`. `channel()`
 *   hides that handshake, so callers see a plain byte stream either way.
 *
 * Handshake on the channel (owned by the driver): frames with request id 0 belong to the driver.
 * `ready()` connects, sends `{ id: 0, op: "hello", args: { nowMs, protocolVersion } }` and waits for
 * the `{ id: 0, ev: "result" }` to that hello; the agent's unsolicited `{ id: 0, ev: "ready" }` frame
 * is skipped. Asking (rather than waiting for an unsolicited frame) matters after a snapshot
 * restore: the guest agent was already running when the snapshot was taken and cannot tell that a
 * new host has connected; and the hello sets the restored guest's clock. Clients of `channel()` use
 * ids ≥ 1 and ignore any late frame with id 0.
 */
import type { Duplex } from "node:stream";
import { CodedError } from "../../errors.ts";
import { VmmErrorCode } from "./error-codes.ts";
export { VmmErrorCode } from "./error-codes.ts";

/** How long a started or restored VM's agent gets to answer a hello before the VM counts as stuck. */
export const AGENT_READY_TIMEOUT_MS = 60_000;

/** How the guest's CPU is run. */
export const Accel = { Kvm: "kvm", Tcg: "tcg" } as const;
export type Accel = (typeof Accel)[keyof typeof Accel];

/** A built guest image: everything a driver needs to boot the guest (see `src/sandbox/image/`). */
export interface GuestImage {
  /** Content hash of the image's inputs; snapshots are keyed by it. */
  hash: string;
  /** Folder holding the files below. */
  dir: string;
  /** Uncompressed kernel with a PVH entry (`vmlinux`), bootable by QEMU microvm and Firecracker. */
  kernel: string;
  /** initramfs (newc cpio): busybox, the kernel modules and `/init`. */
  initrd: string;
  /** Read-only root disk (ext4): shell, coreutils, Node, Python, the guest agent. */
  rootfs: string;
  /** Kernel command line the image needs (the driver may append its own arguments). */
  cmdline: string;
}

/** What to start. Memory, vCPUs and workspace size are hard per-VM limits. */
export interface VmSpec {
  image: GuestImage;
  /** Guest RAM in MiB. */
  memoryMiB: number;
  vcpus: number;
  /** Size cap of the writable `/workspace` (a tmpfs in the guest, so it lives in guest RAM). */
  workspaceMiB: number;
  /** Give the guest a network device (user-mode NAT). Default: none, only `lo`. */
  network: boolean;
  /**
   * Boot so that `snapshot()` works (QEMU: guest RAM in a shared file). Only template VMs need it.
   */
  snapshotable?: boolean;
  /** Restore this snapshot instead of booting. Its spec must match (memory, vCPUs, image...). */
  restore?: VmSnapshot;
  /** Force an accelerator; default: the driver's probe (KVM when it really works, else TCG). */
  accel?: Accel;
}

/** A saved, resumable VM. Files live in `dir`; treat them as read-only once written. */
export interface VmSnapshot {
  dir: string;
  /** Name of the driver that wrote it and its version: restoring needs the same pair. */
  driver: string;
  driverVersion: string;
  /** The spec the template ran with (minus `restore`/`snapshotable`). */
  spec: Omit<VmSpec, "restore" | "snapshotable" | "image"> & { imageHash: string };
  /** Guest RAM image (restored copy-on-write: the file is never modified by a clone). */
  memoryFile: string;
  /** Device and CPU state. */
  stateFile: string;
}

/** Why a VM ended. */
export const VmExitReason = {
  /** `stop()` asked the guest/VMM to end. */
  Stopped: "stopped",
  /** `kill()` ended the VMM process. */
  Killed: "killed",
  /** The guest powered off or rebooted by itself (panic, crash, poweroff). */
  GuestExit: "guest_exit",
  /** The VMM process died without being asked (killed from outside, crashed). */
  VmmDied: "vmm_died",
  /** The VMM could not start the VM (bad arguments, missing files, failed restore). */
  StartFailed: "start_failed",
} as const;
export type VmExitReason = (typeof VmExitReason)[keyof typeof VmExitReason];

export interface VmExit {
  reason: VmExitReason;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Last lines the VMM printed on stderr (and the guest console, when captured). */
  log: string;
}

/** What the guest agent said when it came up (from its `ready` frame or `hello` result). */
export interface AgentReady {
  protocolVersion: number;
  agentVersion: string;
  /** Milliseconds from `start()` being called to the agent answering. */
  readyMs: number;
}

export interface VmHandle {
  /** Unique per VM, safe in file names. */
  readonly id: string;
  /** Host pid of the VMM process. */
  readonly pid: number;
  readonly spec: VmSpec;
  readonly accel: Accel;
  /** Resolves (never rejects) once the VM has ended, for any reason. */
  readonly exited: Promise<VmExit>;
  /**
   * Waits for the guest agent (see the handshake above); memoised. Rejects with a `VmmError`
   * (`not_ready` after `timeoutMs`, default `AGENT_READY_TIMEOUT_MS`, or `vm_exited` if the VM ends first).
   */
  ready(timeoutMs?: number): Promise<AgentReady>;
  /**
   * The connected byte stream to the guest agent's port; the same stream on every call. After
   * `ready()` the handshake frames have been consumed from it and the stream is left paused, so
   * nothing is lost before you listen: attach your `data` listener, then call `resume()` (or pipe
   * it). Rejects once the VM has exited.
   */
  channel(): Promise<Duplex>;
  /** Asks the VMM to end the VM, escalating to `kill()` after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<VmExit>;
  /** Ends the VMM process at once (SIGKILL). */
  kill(): Promise<VmExit>;
  /**
   * Saves the running VM to `dir` (created), then ends it: its RAM now belongs to the snapshot.
   * Only for VMs started with `snapshotable: true`; call after `ready()` so clones wake up ready.
   */
  snapshot?(dir: string): Promise<VmSnapshot>;
}

export interface VmmDriver {
  readonly name: string;
  /** Identifies the VMM build; snapshots are only restored by the same name + version. */
  version(): Promise<string>;
  /** The accelerator `start()` will use by default on this host for this image (may probe once). */
  accel(image: GuestImage): Promise<Accel>;
  /** Launches the VMM. Resolves when the VM is running (or restored); then call `ready()`. */
  start(spec: VmSpec): Promise<VmHandle>;
}

/** The VMM layer's one error type. */
export class VmmError extends CodedError<VmmErrorCode> {
  static override readonly errorName = "VmmError";
}

/** Checks a spec's numbers before any process is started; throws `bad_spec`. */
export function validateSpec(spec: VmSpec): void {
  const bad = (what: string) => {
    throw new VmmError(VmmErrorCode.BadSpec, `invalid VM spec: ${what}`);
  };
  if (!spec || typeof spec !== "object") bad("not an object");
  if (!spec.image || typeof spec.image.kernel !== "string") bad("image is missing");
  if (!Number.isInteger(spec.memoryMiB) || spec.memoryMiB < 128 || spec.memoryMiB > 65536) {
    bad(`memoryMiB must be an integer in 128..65536 (got ${spec.memoryMiB})`);
  }
  if (!Number.isInteger(spec.vcpus) || spec.vcpus < 1 || spec.vcpus > 64) {
    bad(`vcpus must be an integer in 1..64 (got ${spec.vcpus})`);
  }
  if (!Number.isInteger(spec.workspaceMiB) || spec.workspaceMiB < 1 || spec.workspaceMiB >= spec.memoryMiB) {
    bad(`workspaceMiB must be an integer ≥ 1 and below memoryMiB (got ${spec.workspaceMiB})`);
  }
  if (typeof spec.network !== "boolean") bad("network must be a boolean");
  if (spec.restore && spec.snapshotable) bad("a restored VM cannot be snapshotable");
}
