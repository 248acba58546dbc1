/**
 * Sandbox ready time, medians: cold boot to agent answering, restore from the template snapshot,
 * the first answer of a restored agent, acquire from a warm pool, and a bare boot of the same kernel to /init (no agent, no root disk).
 * `npx tsx bench/vm-ready.ts [runs]`; the last line is one JSON object. The measuring functions are
 * exported for bench/sandbox.ts.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { currentImage } from "../src/sandbox/image/build.ts";
import { encodeFrame, FrameDecoder } from "../src/protocol/index.ts";
import { busyboxInitrd } from "../src/sandbox/image/busybox-initrd.ts";
import { DEFAULT_SHAPE, SandboxPool } from "../src/sandbox/pool.ts";
import { ensureTemplate, type TemplateShape } from "../src/sandbox/snapshot.ts";
import type { GuestImage, VmmDriver, VmSnapshot } from "../src/sandbox/vmm/driver.ts";
import { QemuDriver } from "../src/sandbox/vmm/qemu.ts";

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Fresh boot (no snapshot) until the agent answers `hello`, ms per run. */
export async function measureColdBoot(driver: VmmDriver, image: GuestImage, shape: TemplateShape, runs: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const vm = await driver.start({ image, ...shape });
    await vm.ready(180_000);
    out.push(performance.now() - t);
    await vm.kill();
  }
  return out;
}

/** Restore from the snapshot: `running` = VM resumed, `ready` = agent answered `hello`. */
export async function measureRestore(
  driver: VmmDriver,
  image: GuestImage,
  snapshot: VmSnapshot,
  shape: TemplateShape,
  runs: number,
): Promise<{ running: number[]; ready: number[] }> {
  const running: number[] = [];
  const ready: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const vm = await driver.start({ image, ...shape, restore: snapshot });
    running.push(performance.now() - t);
    await vm.ready(60_000);
    ready.push(performance.now() - t);
    await vm.kill();
  }
  return { running, ready };
}

/**
 * Restore until the agent answers a plain request (`stat /workspace`, sent raw as id 0), without
 * the `hello` whose clock setting spawns `date` in the guest: separates TCG's warm-up from that.
 */
export async function measureRestoreAnswer(driver: VmmDriver, image: GuestImage, snapshot: VmSnapshot, shape: TemplateShape, runs: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const vm = await driver.start({ image, ...shape, restore: snapshot });
    const ch = await vm.channel();
    const decoder = new FrameDecoder();
    await new Promise<void>((resolve, reject) => {
      ch.on("data", (d: Buffer) => {
        for (const f of decoder.push(d)) {
          const h = f.header as { id: number; ev: string };
          if (h.id === 0 && h.ev === "result") resolve();
          if (h.id === 0 && h.ev === "error") reject(new Error(JSON.stringify(h)));
        }
      });
      ch.write(encodeFrame({ id: 0, op: "stat", args: { path: "/workspace" } }));
    });
    out.push(performance.now() - t);
    await vm.kill();
  }
  return out;
}

/** Proportional set size (MiB) of each process: what a clone really costs the host. */
export async function pssMiB(pids: number[]): Promise<number[]> {
  const out: number[] = [];
  for (const pid of pids) {
    const text = await readFile(`/proc/${pid}/smaps_rollup`, "utf8").catch(() => "");
    const kb = Number(/^Pss:\s+(\d+) kB/m.exec(text)?.[1] ?? NaN);
    if (Number.isFinite(kb)) out.push(kb / 1024);
  }
  return out;
}

/** `acquire()` from a pool that is full (waits for the refill between runs, untimed). */
export async function measurePoolAcquire(pool: SandboxPool, runs: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    await pool.filled();
    const t = performance.now();
    const vm = await pool.acquire();
    out.push(performance.now() - t);
    await pool.release(vm);
  }
  return out;
}

/** The same kernel and accelerator, booted into an initramfs whose /init prints a mark and powers
 * off: the floor any sandbox boot stands on. ms from spawn to the mark on the serial console. */
export async function measureBareBoot(qemu: string, image: GuestImage, accel: "kvm" | "tcg", runs: number): Promise<number[]> {
  const dir = await mkdtemp(join(tmpdir(), "vw-bare-"));
  try {
    const initrd = join(dir, "initrd");
    await writeFile(initrd, await busyboxInitrd("echo VW-AT-INIT\n/bin/busybox poweroff -f\n", { console: true }));
    const cmdline = `${image.cmdline} ${accel === "tcg" ? "tsc_early_khz=2000000 lpj=4000000" : ""} reboot=t panic=-1`;
    const out: number[] = [];
    for (let i = 0; i < runs; i++) {
      const args = ["-M", "microvm", ...(accel === "kvm" ? ["-accel", "kvm", "-cpu", "host"] : ["-accel", "tcg,tb-size=64"]), "-m", "256M", "-smp", "1"];
      args.push("-nodefaults", "-no-user-config", "-nographic", "-no-reboot", "-serial", "stdio", "-kernel", image.kernel, "-initrd", initrd, "-append", cmdline);
      const t = performance.now();
      const ms = await new Promise<number>((resolve, reject) => {
        const child = spawn(qemu, args, { stdio: ["ignore", "pipe", "ignore"] });
        let seen = "";
        let at = -1;
        child.stdout.on("data", (d: Buffer) => {
          seen += d.toString();
          if (at < 0 && seen.includes("VW-AT-INIT")) at = performance.now() - t;
        });
        child.on("error", reject);
        child.on("close", () => (at >= 0 ? resolve(at) : reject(new Error(`bare boot never reached /init:\n${seen.slice(-500)}`))));
      });
      out.push(ms);
    }
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 3);
  const image = await currentImage();
  const driver = new QemuDriver();
  const accel = await driver.accel(image);
  const shape = DEFAULT_SHAPE;
  console.log(`image ${image.hash}, ${accel}, ${shape.memoryMiB} MiB, ${shape.vcpus} vCPU, ${runs} runs each`);

  const bare = await measureBareBoot(driver.binary, image, accel, runs);
  console.log(`bare kernel to /init     ${median(bare).toFixed(0)} ms  (${bare.map((x) => x.toFixed(0)).join(", ")})`);
  const cold = await measureColdBoot(driver, image, shape, runs);
  console.log(`cold boot to agent ready ${median(cold).toFixed(0)} ms  (${cold.map((x) => x.toFixed(0)).join(", ")})`);
  const snapshot = await ensureTemplate(driver, image, shape);
  const restore = await measureRestore(driver, image, snapshot, shape, runs * 2);
  console.log(`restore: VM running      ${median(restore.running).toFixed(0)} ms  (${restore.running.map((x) => x.toFixed(0)).join(", ")})`);
  console.log(`restore: agent ready     ${median(restore.ready).toFixed(0)} ms  (${restore.ready.map((x) => x.toFixed(0)).join(", ")})  [hello, incl. guest clock set]`);
  const answer = await measureRestoreAnswer(driver, image, snapshot, shape, runs * 2);
  console.log(`restore: agent answers   ${median(answer).toFixed(0)} ms  (${answer.map((x) => x.toFixed(0)).join(", ")})  [stat, no clock set]`);
  const pool = new SandboxPool({ driver, image, shape, size: 2 });
  let acquire: number[];
  let pss: number[];
  try {
    acquire = await measurePoolAcquire(pool, runs * 3);
    await pool.filled();
    pss = await pssMiB(driver.running().map((vm) => vm.pid));
  } finally {
    await pool.close();
  }
  console.log(`pool acquire (warm)      ${median(acquire).toFixed(2)} ms  (${acquire.map((x) => x.toFixed(2)).join(", ")})`);
  console.log(`idle restored VM, PSS     ${median(pss).toFixed(0)} MiB  (${pss.map((x) => x.toFixed(0)).join(", ")})`);
  const r = (x: number, d = 0) => Number(x.toFixed(d));
  console.log(
    JSON.stringify({
      bench: "vm-ready",
      accel,
      runs,
      bareBootToInitMs: r(median(bare)),
      coldBootReadyMs: r(median(cold)),
      restoreRunningMs: r(median(restore.running)),
      restoreReadyMs: r(median(restore.ready)),
      restoreAnswerMs: r(median(answer)),
      poolAcquireMs: r(median(acquire), 2),
      idleVmPssMiB: r(median(pss)),
    }),
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
