/**
 * MicroVMBackend against deepagents' BaseSandbox, in one run on the same microVM.
 *
 * BaseSandbox is how the existing provider packages work: every file operation becomes a shell
 * command (find, awk, grep -rHnF…) sent through `execute`; here it is driven through the very same
 * VM's `execute`, with upload/download done the way a pure-exec provider must (base64 through the
 * shell). MicroVMBackend sends one typed request to the guest agent per operation.
 *
 * Reports median latency per operation and the ratio, 10 MiB write/read throughput, and sandbox
 * ready times (cold boot, snapshot restore, pool acquire, bare kernel to /init; measured with the
 * VMM side's helpers in bench/vm-ready.ts). `npx tsx bench/sandbox.ts [runs]`. Last line: JSON.
 */
import { randomBytes } from "node:crypto";
import { BaseSandbox, type ExecuteResponse, type FileDownloadResponse, type FileUploadResponse } from "deepagents";
import { MicroVMBackend } from "../src/sandbox/backend.ts";
import { buildImage } from "../src/sandbox/image/build.ts";
import { DEFAULT_SHAPE, SandboxPool } from "../src/sandbox/pool.ts";
import { ensureTemplate } from "../src/sandbox/snapshot.ts";
import { QemuDriver } from "../src/sandbox/vmm/qemu.ts";
import { measureBareBoot, measureColdBoot, measurePoolAcquire, measureRestore, median } from "./vm-ready.ts";

/** BaseSandbox over MicroVMBackend.execute only: the shell-command route, same VM. */
class ExecOnlySandbox extends BaseSandbox {
  readonly id = "exec-only";
  constructor(private readonly inner: MicroVMBackend) {
    super();
  }
  execute(command: string): Promise<ExecuteResponse> {
    return this.inner.execute(command);
  }
  async uploadFiles(files: Array<[string, Uint8Array]>): Promise<FileUploadResponse[]> {
    const out: FileUploadResponse[] = [];
    for (const [path, data] of files) {
      const q = `'${path.replace(/'/g, "'\\''")}'`;
      const b64 = Buffer.from(data).toString("base64");
      // One shell argument holds at most 128 KiB: append in pieces.
      let r = await this.execute(`mkdir -p "$(dirname ${q})" && : > ${q}`);
      for (let at = 0; at < b64.length && r.exitCode === 0; at += 96 * 1024) {
        r = await this.execute(`printf %s '${b64.slice(at, at + 96 * 1024)}' | base64 -d >> ${q}`);
      }
      out.push({ path, error: r.exitCode === 0 ? null : "permission_denied" });
    }
    return out;
  }
  async downloadFiles(paths: string[]): Promise<FileDownloadResponse[]> {
    const out: FileDownloadResponse[] = [];
    for (const path of paths) {
      const r = await this.execute(`base64 -w0 '${path.replace(/'/g, "'\\''")}'`);
      out.push(r.exitCode === 0 ? { path, content: new Uint8Array(Buffer.from(r.output, "base64")), error: null } : { path, content: null, error: "file_not_found" });
    }
    return out;
  }
}

type Op = "read" | "write" | "edit" | "ls" | "grep" | "glob" | "execute";
type Backendish = Pick<MicroVMBackend, "read" | "write" | "edit" | "ls" | "grep" | "glob" | "execute">;

/** Files every op works on, written through the backend itself. */
async function seed(b: Backendish, dir: string): Promise<void> {
  must(await b.write(`${dir}/read.txt`, TEXT_4K), "seed");
  must(await b.write(`${dir}/edit.txt`, "alpha AAAA omega\n"), "seed");
  for (let i = 0; i < 20; i++) must(await b.write(`${dir}/sub${i % 4}/f${i}.txt`, `file ${i} needle-${i}\n`), "seed");
}

const TEXT_4K = Array.from({ length: 64 }, (_, i) => `line ${String(i).padStart(3, "0")} ${"x".repeat(54)}`).join("\n") + "\n";

function must<T extends { error?: string }>(r: T, what: string): T {
  if (r.error) throw new Error(`${what}: ${r.error}`);
  return r;
}

function opsFor(b: Backendish, dir: string): Record<Op, (i: number) => Promise<unknown>> {
  return {
    read: async () => must(await b.read(`${dir}/read.txt`), "read"),
    write: async (i) => must(await b.write(`${dir}/write.txt`, TEXT_4K.replace("line 000", `line ${i}`)), "write"),
    edit: async (i) => must(await b.edit(`${dir}/edit.txt`, i % 2 ? "BBBB" : "AAAA", i % 2 ? "AAAA" : "BBBB"), "edit"),
    ls: async () => must(await b.ls(dir), "ls"),
    grep: async () => must(await b.grep("needle-1", dir), "grep"),
    glob: async () => must(await b.glob("**/*.txt", dir), "glob"),
    execute: async () => {
      const r = await b.execute("true");
      if (r.exitCode !== 0) throw new Error(`execute: ${r.output}`);
    },
  };
}

/**
 * Times every op on both backends, alternating run by run, so that both see the same machine
 * load (this host is shared and TCG timings swing with it): the ratios stay meaningful.
 */
async function timeBoth(ours: Backendish, base: Backendish, runs: number): Promise<{ micro: Record<Op, number>; base: Record<Op, number> }> {
  await seed(ours, "/workspace/bench-micro");
  await seed(base, "/workspace/bench-base");
  const a = opsFor(ours, "/workspace/bench-micro");
  const b = opsFor(base, "/workspace/bench-base");
  const micro = {} as Record<Op, number>;
  const shell = {} as Record<Op, number>;
  for (const op of Object.keys(a) as Op[]) {
    await a[op](0); // warm up (TCG translates each code path once)
    await b[op](0);
    const ta: number[] = [];
    const tb: number[] = [];
    for (let i = 1; i <= runs; i++) {
      let t = performance.now();
      await a[op](i);
      ta.push(performance.now() - t);
      t = performance.now();
      await b[op](i);
      tb.push(performance.now() - t);
    }
    micro[op] = median(ta);
    shell[op] = median(tb);
  }
  return { micro, base: shell };
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 15);
  const image = await buildImage();
  const driver = new QemuDriver();
  const accel = await driver.accel(image);
  const shape = DEFAULT_SHAPE;
  console.log(`image ${image.hash}, ${accel}, ${shape.memoryMiB} MiB, ${shape.vcpus} vCPU, ${runs} runs per op`);
  const snapshot = await ensureTemplate(driver, image, shape);

  const vm = await driver.start({ image, ...shape, restore: snapshot });
  await vm.ready(60_000);
  const tAttach = performance.now();
  const ours = await MicroVMBackend.create({ threadId: "bench", vm });
  const attachMs = performance.now() - tAttach;
  let micro: Record<Op, number>;
  let base: Record<Op, number>;
  let writeMiBs: number;
  let readMiBs: number;
  try {
    ({ micro, base } = await timeBoth(ours, new ExecOnlySandbox(ours), runs));
    const big = randomBytes(10 * 1024 * 1024);
    let t = performance.now();
    const up = await ours.uploadFiles([["/workspace/ten.bin", big]]);
    writeMiBs = 10 / ((performance.now() - t) / 1000);
    t = performance.now();
    const [down] = await ours.downloadFiles(["/workspace/ten.bin"]);
    readMiBs = 10 / ((performance.now() - t) / 1000);
    if (up[0]!.error || !down!.content || !Buffer.from(down!.content).equals(big)) throw new Error("10 MiB round trip failed");
  } finally {
    await ours.close();
  }

  console.log("\nmedian ms        MicroVMBackend   BaseSandbox(execute)   ratio");
  const ratios: Record<string, number> = {};
  for (const op of Object.keys(micro) as Op[]) {
    ratios[op] = base[op] / micro[op];
    console.log(`${op.padEnd(16)} ${micro[op].toFixed(2).padStart(14)} ${base[op].toFixed(2).padStart(21)} ${ratios[op]!.toFixed(1).padStart(7)}×`);
  }
  console.log(`\n10 MiB write ${writeMiBs.toFixed(1)} MiB/s, read ${readMiBs.toFixed(1)} MiB/s; backend attach (hello + empty restore) ${attachMs.toFixed(0)} ms`);

  const readyRuns = 2;
  const bare = await measureBareBoot(driver.binary, image, accel, readyRuns);
  const cold = await measureColdBoot(driver, image, shape, readyRuns);
  // Restores are quick: more of them, for a steadier median.
  const restore = await measureRestore(driver, image, snapshot, shape, 8);
  const pool = new SandboxPool({ driver, image, shape, size: 1 });
  let acquire: number[];
  try {
    acquire = await measurePoolAcquire(pool, readyRuns * 3);
  } finally {
    await pool.close();
  }
  console.log(
    `ready: bare kernel to /init ${median(bare).toFixed(0)} ms, cold boot ${median(cold).toFixed(0)} ms, ` +
      `snapshot restore ${median(restore.ready).toFixed(0)} ms (running after ${median(restore.running).toFixed(0)} ms), pool acquire ${median(acquire).toFixed(2)} ms`,
  );
  const r = (x: number, d = 1) => Number(x.toFixed(d));
  const fileOps = (["read", "write", "edit", "ls", "grep", "glob"] as const).map((op) => ratios[op]!);
  console.log(
    JSON.stringify({
      bench: "sandbox",
      accel,
      runs,
      microvmMs: Object.fromEntries(Object.entries(micro).map(([k, v]) => [k, r(v, 2)])),
      baseSandboxMs: Object.fromEntries(Object.entries(base).map(([k, v]) => [k, r(v, 2)])),
      ratio: Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, r(v)])),
      minFileOpRatio: r(Math.min(...fileOps)),
      write10MiBps: r(writeMiBs),
      read10MiBps: r(readMiBs),
      attachMs: r(attachMs, 0),
      bareBootToInitMs: r(median(bare), 0),
      coldBootReadyMs: r(median(cold), 0),
      restoreReadyMs: r(median(restore.ready), 0),
      poolAcquireMs: r(median(acquire), 2),
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
