/**
 * MicroVMBackend against deepagents' BaseSandbox, in one run on the same microVM.
 *
 * BaseSandbox is how the existing provider packages work: every file operation becomes a shell
 * command (find, awk, grep -rHnF…) sent through `execute`; here it is driven through the very same
 * VM's `execute`, with upload/download done the way a pure-exec provider must (base64 through the
 * shell). MicroVMBackend sends one typed request to the guest agent per operation.
 *
 * Reports median latency per operation and the ratio; a sweep of grep, glob and ls over 100 / 1,000
 * / 10,000 files (first call on a tree a command just made, warm, right after an `execute`); the
 * workspace sync time of 1,000 files one command made, and of one file changed among 1,000 and
 * 10,000 (the sync lists only what changed); 10 MiB write/read throughput, and sandbox
 * ready times (cold boot, snapshot restore, pool acquire, bare kernel to /init; measured with the
 * VMM side's helpers in bench/vm-ready.ts). `npx tsx bench/sandbox.ts [runs]`. Last line: JSON, with
 * `*_ratio` = ours / BaseSandbox's time (sweep figures named with their file count and mode, e.g.
 * `grep_10000_after_execute_ratio`) and `sync_1000_ratio` = command + sync / command alone.
 */
import { randomBytes } from "node:crypto";
import { MicroVMBackend } from "../src/sandbox/backend.ts";
import { buildImage } from "../src/sandbox/image/build.ts";
import { DEFAULT_SHAPE, SandboxPool } from "../src/sandbox/pool.ts";
import { ensureTemplate } from "../src/sandbox/snapshot.ts";
import { QemuDriver } from "../src/sandbox/vmm/qemu.ts";
import { WorkspaceSync } from "../src/sandbox/workspace-sync.ts";
import { ExecOnlySandbox } from "../test/support/exec-only-sandbox.ts";
import { startTestNats } from "../test/support/nats.ts";
import { measureBareBoot, measureColdBoot, measurePoolAcquire, measureRestore, median } from "./vm-ready.ts";

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

const SIZES = [100, 1000, 10_000] as const;
type SweepOp = "grep" | "glob" | "ls";
type Mode = "first" | "warm" | "after_execute";

/** One command makes `n` files: `dir/d<k>/f<j>.txt`, 100 per directory, every 10th with a needle; or `n` in one flat `dir`. */
async function makeFiles(b: MicroVMBackend, dir: string, n: number, flat: boolean): Promise<void> {
  const py =
    `import os\nfor i in range(${n}):\n` +
    (flat ? `    p = "${dir}/e%05d" % i\n` : `    p = "${dir}/d%d/f%d.txt" % (i // 100, i % 100)\n`) +
    `    os.makedirs(os.path.dirname(p), exist_ok=True)\n    open(p, "w").write("line one\\nthe needle %d\\n" % i if i % 10 == 0 else "plain %d\\n" % i)\n`;
  must(await b.write(`/workspace/make-${n}.py`, py), "make script");
  const r = await b.execute(`python3 make-${n}.py`);
  if (r.exitCode !== 0) throw new Error(`making ${n} files: ${r.output}`);
}

function sweepOp(b: Backendish, op: SweepOp, dir: string, n: number): () => Promise<unknown> {
  // Each call must have found everything (a cut or an error would make the figure meaningless).
  const want = op === "ls" ? n : op === "glob" ? n : n / 10;
  return async () => {
    const r = op === "grep" ? await b.grep("the needle", dir, null, 20_000) : op === "glob" ? await b.glob("**/*.txt", dir) : await b.ls(dir);
    must(r as { error?: string }, `${op} ${n}`);
    const got = ((r as { matches?: unknown[] }).matches ?? (r as { files?: unknown[] }).files ?? []).length;
    if (got !== want) throw new Error(`${op} over ${n} files found ${got}, expected ${want}`);
  };
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/**
 * grep, glob and ls over 100 / 1,000 / 10,000 files: the first call on a tree a command just made,
 * warm calls, and calls right after an `execute`, ours and BaseSandbox's alternately.
 */
async function sweep(ours: MicroVMBackend, base: Backendish, runs: number): Promise<Record<string, number>> {
  const figures: Record<string, number> = {};
  console.log("\nsweep (median ms)          ours     BaseSandbox   ours/base");
  for (const n of SIZES) {
    for (const op of ["grep", "glob", "ls"] as const) {
      const dir = `/workspace/sweep-${op}-${n}`;
      await makeFiles(ours, dir, n, op === "ls");
      const a = sweepOp(ours, op, dir, n);
      const b = sweepOp(base, op, dir, n);
      const ms: Record<Mode, [number, number]> = { first: [0, 0], warm: [0, 0], after_execute: [0, 0] };
      // First: BaseSandbox (no cache of its own) then ours, on the tree the command just made.
      const baseFirst = await time(b);
      ms.first = [await time(a), baseFirst];
      const warmA: number[] = [];
      const warmB: number[] = [];
      const afterA: number[] = [];
      const afterB: number[] = [];
      const k = Math.max(3, Math.ceil(runs / 3));
      for (let i = 0; i < k; i++) {
        warmA.push(await time(a));
        warmB.push(await time(b));
        await ours.execute("true");
        afterA.push(await time(a));
        await ours.execute("true");
        afterB.push(await time(b));
      }
      ms.warm = [median(warmA), median(warmB)];
      ms.after_execute = [median(afterA), median(afterB)];
      for (const mode of ["first", "warm", "after_execute"] as const) {
        const [x, y] = ms[mode];
        figures[`${op}_${n}_${mode}_ms`] = Number(x.toFixed(1));
        figures[`${op}_${n}_${mode}_base_ms`] = Number(y.toFixed(1));
        figures[`${op}_${n}_${mode}_ratio`] = Number((x / y).toFixed(3));
        console.log(`${`${op} ${n} ${mode}`.padEnd(24)} ${x.toFixed(1).padStart(8)} ${y.toFixed(1).padStart(14)} ${(x / y).toFixed(3).padStart(11)}`);
      }
      must(await ours.delete(dir), "clean up"); // keep the workspace small for what follows
    }
  }
  return figures;
}

/**
 * Workspace sync of 1,000 files one command made: the command alone (no store) against the same
 * command followed by the sync a backend with a store runs (manifest diff, download, Object Store
 * puts), alternately, each on a fresh directory.
 */
async function syncFigures(ours: MicroVMBackend, runs: number): Promise<Record<string, number>> {
  const nats = await startTestNats();
  try {
    const sync = new WorkspaceSync(nats.backbone.blobs, "bench-sync");
    const client = await ours.guest();
    await sync.restore(client);
    const plain: number[] = [];
    const synced: number[] = [];
    const syncOnly: number[] = [];
    const phases = { manifest: [] as number[], download: [] as number[], store: [] as number[] };
    const command = (d: string) => `mkdir ${d} && for i in $(seq 1 1000); do echo "file $i" > ${d}/f$i.txt; done`;
    for (let i = 0; i < Math.max(3, Math.ceil(runs / 5)); i++) {
      plain.push(await time(async () => ours.execute(command(`plain${i}`))));
      await sync.afterCommand(client); // what the plain run made is saved untimed: the next diff starts equal
      const t = performance.now();
      const r = await ours.execute(command(`synced${i}`));
      const ts = performance.now();
      const rep = await sync.afterCommand(client);
      synced.push(performance.now() - t);
      syncOnly.push(performance.now() - ts);
      for (const k of ["manifest", "download", "store"] as const) phases[k].push(rep.phases[k]);
      if (r.exitCode !== 0 || rep.saved !== 1000) throw new Error(`sync saved ${rep.saved} of 1000: ${r.output}`);
    }
    const ratio = median(synced) / median(plain);
    // One file changed in a workspace of 1,000 and of 10,000 files: the sync lists what changed
    // (the agent's change log), so its cost should not grow with the workspace.
    must(await ours.execute("rm -rf plain* synced*").then((r) => (r.exitCode === 0 ? {} : { error: r.output })), "clean up");
    await sync.afterCommand(client);
    const scale: Record<string, number> = {};
    for (const n of [1_000, 10_000]) {
      const made = await ours.execute(`mkdir -p scale${n} && cd scale${n} && for i in $(seq 1 ${n}); do echo "file $i" > f$i.txt; done`);
      if (made.exitCode !== 0) throw new Error(`making ${n} files: ${made.output}`);
      await sync.afterCommand(client);
      const alone: number[] = [];
      const withSync: number[] = [];
      for (let i = 0; i < Math.max(3, Math.ceil(runs / 2)); i++) {
        alone.push(await time(async () => ours.execute(`echo ${i} >> scale${n}/f1.txt`)));
        await sync.afterCommand(client);
        let rep: Awaited<ReturnType<typeof sync.afterCommand>> | undefined;
        withSync.push(await time(async () => {
          await ours.execute(`echo ${i} >> scale${n}/f2.txt`);
          rep = await sync.afterCommand(client);
        }));
        if (rep!.saved !== 1 || rep!.listed !== "changes") throw new Error(`one change in ${n} files: ${JSON.stringify(rep)}`);
      }
      scale[`sync_one_change_in_${n}_command_ms`] = Number(median(alone).toFixed(1));
      scale[`sync_one_change_in_${n}_with_sync_ms`] = Number(median(withSync).toFixed(1));
      scale[`sync_one_change_in_${n}_ratio`] = Number((median(withSync) / median(alone)).toFixed(3));
      console.log(`one file changed among ${n} files: command ${median(alone).toFixed(1)} ms, with sync ${median(withSync).toFixed(1)} ms, ratio ${(median(withSync) / median(alone)).toFixed(2)}`);
      must(await ours.execute(`rm -rf scale${n}`).then((r) => (r.exitCode === 0 ? {} : { error: r.output })), "clean up");
      await sync.afterCommand(client);
    }
    console.log(`\nsync of 1,000 files made by one command: command ${median(plain).toFixed(0)} ms, command + sync ${median(synced).toFixed(0)} ms (sync ${median(syncOnly).toFixed(0)} ms: manifest ${median(phases.manifest).toFixed(0)}, download ${median(phases.download).toFixed(0)}, store ${median(phases.store).toFixed(0)}), ratio ${ratio.toFixed(2)}`);
    return {
      sync_1000_command_ms: Number(median(plain).toFixed(0)),
      sync_1000_command_and_sync_ms: Number(median(synced).toFixed(0)),
      sync_1000_sync_ms: Number(median(syncOnly).toFixed(0)),
      sync_1000_manifest_ms: Number(median(phases.manifest).toFixed(0)),
      sync_1000_download_ms: Number(median(phases.download).toFixed(0)),
      sync_1000_store_ms: Number(median(phases.store).toFixed(0)),
      sync_1000_ratio: Number(ratio.toFixed(3)),
      ...scale,
    };
  } finally {
    await nats.close();
  }
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
  // A big output cap, so that BaseSandbox's find/grep outputs over 10,000 files arrive whole.
  const ours = await MicroVMBackend.create({ threadId: "bench", vm, maxOutputBytes: 64 * 1024 * 1024 });
  const attachMs = performance.now() - tAttach;
  let micro: Record<Op, number>;
  let base: Record<Op, number>;
  let writeMiBs: number;
  let syncFig: Record<string, number>;
  let sweepFig: Record<string, number>;
  let readMiBs: number;
  try {
    ({ micro, base } = await timeBoth(ours, new ExecOnlySandbox(ours), runs));
    syncFig = await syncFigures(ours, runs);
    sweepFig = await sweep(ours, new ExecOnlySandbox(ours), runs);
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
      // Few files: BaseSandbox's time / ours (how many times faster).
      speedup: Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, r(v)])),
      minFileOpSpeedup: r(Math.min(...fileOps)),
      ...Object.fromEntries(Object.entries(ratios).map(([k, v]) => [`${k}_ratio`, Number((1 / v).toFixed(4))])),
      ...syncFig,
      ...sweepFig,
      maxSweepRatio: Math.max(...Object.entries(sweepFig).filter(([k]) => k.endsWith("_ratio")).map(([, v]) => v)),
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
