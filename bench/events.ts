/**
 * The event log (EventLog) on a local nats-server: median latency of one acknowledged publish
 * (a tool.finished event of ~0.5 KiB, as the agent publishes them), of a replayed publish (same
 * id: dropped because the log holds it), of the first publish by a new process on a thread that
 * already has N events (it reads the thread's stored ids once, so replays are caught at any age),
 * and the time to read a thread's whole history back.
 *
 *   npx tsx bench/events.ts [events]
 *
 * Prints a table, then one JSON line with the figures.
 */
import { EventType } from "../src/nats/event-types.ts";
import { EventLog } from "../src/nats/events.ts";
import { startTestNats } from "../test/support/nats.ts";

const N = Number(process.argv[2] ?? 2000);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const nats = await startTestNats();
  try {
    const log = nats.backbone.events;
    const event = (i: number) => ({
      id: `main:call-${i}:end`,
      type: EventType.ToolFinished,
      agent: "researcher",
      data: { tool: "execute", callId: `call-${i}`, status: "ok" as const, output: "x".repeat(400) },
    });
    const publish: number[] = [];
    for (let i = 0; i < N; i++) {
      const t0 = performance.now();
      await log.publish("bench", event(i));
      publish.push(performance.now() - t0);
    }
    const replay: number[] = [];
    for (let i = 0; i < Math.min(N, 500); i++) {
      const t0 = performance.now();
      await log.publish("bench", event(i));
      replay.push(performance.now() - t0);
    }
    const cold: number[] = [];
    for (let r = 0; r < 5; r++) {
      const fresh = new EventLog(nats.backbone.js, { nc: nats.nc }); // a new process: nothing cached
      const t0 = performance.now();
      await fresh.publish("bench", event(r)); // a replay: answered from the ids it just read
      cold.push(performance.now() - t0);
    }
    const reads: number[] = [];
    let count = 0;
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      count = (await log.history("bench")).length;
      reads.push(performance.now() - t0);
    }
    if (count !== N) throw new Error(`history returned ${count} events, expected ${N}`);
    const out = {
      bench: "events",
      events: N,
      publish_ms: +median(publish).toFixed(3),
      replay_publish_ms: +median(replay).toFixed(3),
      first_publish_new_process_ms: +median(cold).toFixed(1),
      history_ms: +median(reads).toFixed(1),
      history_events_per_s: Math.round(N / (median(reads) / 1000)),
    };
    console.log(`publish (acked)      ${out.publish_ms} ms median over ${N}`);
    console.log(`replayed publish     ${out.replay_publish_ms} ms median (the log holds the id: nothing stored)`);
    console.log(`first publish, new process, ${N} stored  ${out.first_publish_new_process_ms} ms median of 5 (reads the thread's ids once)`);
    console.log(`history of ${N}     ${out.history_ms} ms median of 5 (${out.history_events_per_s} events/s)`);
    console.log(JSON.stringify(out));
  } finally {
    await nats.close();
  }
}

await main();
