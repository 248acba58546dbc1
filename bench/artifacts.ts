/**
 * Object Store throughput through ArtifactStore (native SHA-256, 1 MiB chunks) on a local
 * nats-server: write and read of a 1 MiB and a 50 MiB artifact, streamed, in MB/s (10^6 bytes).
 *
 *   npx tsx bench/artifacts.ts [rounds]
 *
 * Prints a table, then one JSON line with the medians.
 */
import { randomBytes } from "node:crypto";
import { startTestNats } from "../test/support/nats.ts";

const ROUNDS = Number(process.argv[2] ?? 5);
const MiB = 1024 * 1024;

async function* source(size: number, block: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let sent = 0; sent < size; sent += block.length) yield block.subarray(0, Math.min(block.length, size - sent));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const nats = await startTestNats();
  try {
    const store = nats.backbone.artifacts;
    const block = randomBytes(MiB);
    const out: Record<string, number | string> = { bench: "artifacts", rounds: ROUNDS };
    console.log("size      write MB/s   read MB/s   (median of " + ROUNDS + ")");
    for (const [label, size] of [["1MiB", MiB], ["50MiB", 50 * MiB]] as const) {
      const writes: number[] = [];
      const reads: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const name = `bench/${label}/${r}`;
        let t0 = performance.now();
        await store.put(name, source(size, block));
        writes.push(size / 1e6 / ((performance.now() - t0) / 1000));
        t0 = performance.now();
        let got = 0;
        for await (const c of store.read(name)) got += c.length;
        reads.push(size / 1e6 / ((performance.now() - t0) / 1000));
        if (got !== size) throw new Error(`read ${got} bytes of ${size}`);
        await store.delete(name);
      }
      const w = median(writes);
      const rd = median(reads);
      console.log(`${label.padEnd(8)} ${w.toFixed(0).padStart(11)} ${rd.toFixed(0).padStart(11)}`);
      out[`write_${label}_MBps`] = Math.round(w);
      out[`read_${label}_MBps`] = Math.round(rd);
    }
    console.log(JSON.stringify(out));
  } finally {
    await nats.close();
  }
}

await main();
