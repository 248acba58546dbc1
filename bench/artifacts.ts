/**
 * Object Store throughput through ArtifactStore vs `dd` on the same disk (the nats-server's store
 * directory), side by side in one run, the sides alternating round by round: write and read of
 * 1, 50 and 500 MiB artifacts, streamed, in MB/s (10^6 bytes). The client library's own
 * `put`/`get` (`@nats-io/obj`, native SHA-256, 1 MiB chunks) runs beside them for reference.
 *
 *   npx tsx bench/artifacts.ts [rounds at 1 MiB, default 15]
 *
 * Baseline: `dd if=/dev/zero of=F bs=1M count=N conv=fsync` (the write and its fsync) and
 * `dd if=F of=/dev/null bs=1M iflag=direct` (a read that skips the page cache), timed by dd
 * itself. Note that nats-server 2.9 acknowledges before any fsync (it syncs every 2 minutes), so
 * the Object Store's write never waits for the disk the way dd's does.
 *
 * Prints a table, then one JSON line with the medians and `*_ratio` = ArtifactStore / dd.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { Objm } from "@nats-io/obj";
import { Names } from "../src/nats/streams.ts";
import { startTestNats } from "../test/support/nats.ts";

const MiB = 1024 * 1024;
const SMALL_ROUNDS = Number(process.argv[2] ?? 15);
const SIZES = [
  { label: "1MiB", mib: 1, rounds: SMALL_ROUNDS },
  { label: "50MiB", mib: 50, rounds: 5 },
  { label: "500MiB", mib: 500, rounds: 3 },
];

async function* source(size: number, block: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let sent = 0; sent < size; sent += block.length) yield block.subarray(0, Math.min(block.length, size - sent));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Runs dd and returns the seconds it reports for the copy. */
function dd(args: string[]): number {
  const r = spawnSync("dd", args, { encoding: "utf8", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LC_ALL: "C" } });
  if (r.status !== 0) throw new Error(`dd ${args.join(" ")} failed: ${r.stderr}`);
  const m = /copied, ([\d.e+-]+) s/.exec(r.stderr);
  if (!m) throw new Error(`cannot read dd's time from: ${r.stderr}`);
  return Number(m[1]);
}

async function main(): Promise<void> {
  const nats = await startTestNats();
  try {
    const store = nats.backbone.artifacts;
    const os = await new Objm(nats.backbone.js).open(Names.filesBucket);
    const block = randomBytes(MiB);
    const ddFile = join(nats.server.storeDir, "dd.bin");
    const out: Record<string, number | string> = { bench: "artifacts", disk_dir: nats.server.storeDir };
    console.log(`ArtifactStore vs dd on the same disk (${nats.server.storeDir}), MB/s, medians; the client library's put/get for reference`);
    console.log("size      write: ours      dd   ratio  library   read: ours      dd   ratio  library   rounds");
    for (const { label, mib, rounds } of SIZES) {
      const size = mib * MiB;
      const t = { ow: [] as number[], or: [] as number[], dw: [] as number[], dr: [] as number[], lw: [] as number[], lr: [] as number[] };
      const sides = [
        async (r: number) => {
          const name = `bench/${label}/${r}`;
          let t0 = performance.now();
          await store.put(name, source(size, block));
          t.ow.push(size / 1e6 / ((performance.now() - t0) / 1000));
          t0 = performance.now();
          let got = 0;
          for await (const c of store.read(name)) got += c.length;
          t.or.push(size / 1e6 / ((performance.now() - t0) / 1000));
          if (got !== size) throw new Error(`read ${got} bytes of ${size}`);
          await store.delete(name);
        },
        async () => {
          t.dw.push(size / 1e6 / dd(["if=/dev/zero", `of=${ddFile}`, "bs=1M", `count=${mib}`, "conv=fsync"]));
          t.dr.push(size / 1e6 / dd([`if=${ddFile}`, "of=/dev/null", "bs=1M", "iflag=direct"]));
          await rm(ddFile, { force: true });
        },
        async (r: number) => {
          const name = `bench/lib/${label}/${r}`;
          const readable = ReadableStream.from(source(size, block));
          let t0 = performance.now();
          await os.put({ name, options: { max_chunk_size: MiB } }, readable);
          t.lw.push(size / 1e6 / ((performance.now() - t0) / 1000));
          t0 = performance.now();
          const got = await os.get(name);
          let n = 0;
          for await (const c of got!.data) n += c.length;
          if ((await got!.error) || n !== size) throw new Error(`library read ${n} bytes of ${size}`);
          t.lr.push(size / 1e6 / ((performance.now() - t0) / 1000));
          await os.delete(name);
        },
      ];
      for (let r = 0; r < rounds; r++) for (const side of r % 2 === 0 ? sides : [...sides].reverse()) await side(r);
      const [ow, dw, lw, or, dr, lr] = [t.ow, t.dw, t.lw, t.or, t.dr, t.lr].map(median);
      console.log(
        `${label.padEnd(8)} ${ow.toFixed(0).padStart(12)} ${dw.toFixed(0).padStart(7)} ${(ow / dw).toFixed(2).padStart(7)} ${lw.toFixed(0).padStart(8)}` +
          `   ${or.toFixed(0).padStart(11)} ${dr.toFixed(0).padStart(7)} ${(or / dr).toFixed(2).padStart(7)} ${lr.toFixed(0).padStart(8)}   ${rounds}`,
      );
      Object.assign(out, {
        [`write_${label}_MBps`]: Math.round(ow),
        [`dd_write_${label}_MBps`]: Math.round(dw),
        [`library_write_${label}_MBps`]: Math.round(lw),
        [`write_${label}_ratio`]: Math.round((ow / dw) * 1000) / 1000,
        [`read_${label}_MBps`]: Math.round(or),
        [`dd_read_${label}_MBps`]: Math.round(dr),
        [`library_read_${label}_MBps`]: Math.round(lr),
        [`read_${label}_ratio`]: Math.round((or / dr) * 1000) / 1000,
      });
    }
    console.log("targets: ratio >= 0.5 at 50 and 500 MiB; >= 150 MB/s at 1 MiB");
    console.log(JSON.stringify(out));
  } finally {
    await nats.close();
  }
}

await main();
