import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { release, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { childEnv } from "../../config/index.ts";
import { busyboxInitrd } from "../image/busybox-initrd.ts";

/**
 * Whether KVM really works for our guests. `/dev/kvm` existing is not enough: on a PVM host
 * (NOTES) it opens fine but an ordinary kernel aborts QEMU or crawls. So we boot the real guest
 * kernel under `-accel kvm -cpu host` into a two-line initramfs that powers off, with a short
 * timeout. The answer is cached per (QEMU version, host kernel, guest kernel file, device).
 *
 * A device that does not exist is answered at once and never cached: that check costs nothing, and
 * a cached "no" would outlive the device appearing (module loaded, container given `/dev/kvm`). It
 * also leaves any verdict already in the cache file alone.
 */
export interface KvmProbeResult {
  usable: boolean;
  reason: string;
  ms: number;
}

export interface KvmProbeOptions {
  qemu: string;
  qemuVersion: string;
  kernel: string;
  cacheFile: string;
  timeoutMs?: number;
  /**
   * The KVM device node (default `/dev/kvm`). Another path is handed to QEMU as
   * `-accel kvm,device=PATH` (QEMU 8.2+; an older QEMU refuses the property, so the verdict is
   * "not usable" either way).
   */
  device?: string;
}

export const DEFAULT_KVM_DEVICE = "/dev/kvm";

export async function probeKvm(opts: KvmProbeOptions): Promise<KvmProbeResult> {
  const device = opts.device ?? DEFAULT_KVM_DEVICE;
  if (!existsSync(device)) return { usable: false, reason: `no ${device}`, ms: 0 };
  const key = createHash("sha256").update(JSON.stringify([opts.qemuVersion, release(), opts.kernel, device])).digest("hex").slice(0, 16);
  const cached = await readFile(opts.cacheFile, "utf8").then((t) => JSON.parse(t) as { key: string; result: KvmProbeResult }).catch(() => null);
  if (cached?.key === key) return cached.result;

  const dir = await mkdtemp(join(tmpdir(), "vw-kvm-probe-"));
  const started = Date.now();
  let result: KvmProbeResult;
  try {
    const initrd = join(dir, "initrd");
    await writeFile(initrd, await busyboxInitrd("/bin/busybox poweroff -f\n"));
    const args = [
      "-M", "microvm", "-accel", kvmAccelArg(device), "-cpu", "host", "-m", "256", "-smp", "1",
      "-nodefaults", "-no-user-config", "-nographic", "-no-reboot", "-serial", "none",
      "-kernel", opts.kernel, "-initrd", initrd,
      "-append", "quiet reboot=t panic=-1 rdinit=/init",
    ];
    const { code, stderr, timedOut } = await runWithTimeout(opts.qemu, args, opts.timeoutMs ?? 8000);
    const ms = Date.now() - started;
    if (timedOut) result = { usable: false, reason: `guest did not power off within ${opts.timeoutMs ?? 8000} ms under KVM`, ms };
    else if (code !== 0) result = { usable: false, reason: `QEMU exited ${code} under KVM: ${stderr.trim().split("\n").pop() ?? ""}`, ms };
    else result = { usable: true, reason: "guest booted and powered off under KVM", ms };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  await mkdir(dirname(opts.cacheFile), { recursive: true });
  await writeFile(opts.cacheFile, JSON.stringify({ key, result }));
  return result;
}

/** `kvm` for the default device, else `kvm,device=PATH` (commas doubled: QEMU's option escape). */
function kvmAccelArg(device: string): string {
  return device === DEFAULT_KVM_DEVICE ? "kvm" : `kvm,device=${device.replaceAll(",", ",,")}`;
}

function runWithTimeout(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stderr: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: childEnv(), stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    let timedOut = false;
    child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ code: -1, stderr: String(e), timedOut: false });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, timedOut });
    });
  });
}
