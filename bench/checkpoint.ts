/**
 * JetStreamCheckpointSaver vs @langchain/langgraph-checkpoint-sqlite (default settings, file DB),
 * same process, same run, interleaved step by step so machine load hits both alike.
 *
 * The workload is an agent loop on one thread: each step puts a checkpoint (~20 KiB: a growing
 * message history of LangChain messages, todos, a files map, routing channels), writes the step's
 * pending writes, and reads the latest checkpoint back. Every JetStream write is acknowledged:
 * with the default `writeAcks: "next-step"` putWrites returns once its message is published and the
 * next put or read waits for the acknowledgement (LangGraph's loop works that way: it does not await
 * putWrites itself); `writeAcks: "each-call"` (reported beside it) waits inside putWrites. The whole
 * step (put + putWrites + getTuple) is reported too, since the default moves the wait into the
 * next call.
 *
 *   npx tsx bench/checkpoint.ts [steps]
 *
 * Prints a table, then one JSON line with the medians and `*_ratio` (JetStream / sqlite).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AIMessage, HumanMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import type { RunnableConfig } from "@langchain/core/runnables";
import { uuid6, type BaseCheckpointSaver, type Checkpoint, type PendingWrite } from "@langchain/langgraph-checkpoint";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import { JetStreamCheckpointSaver } from "../src/nats/checkpointer.ts";
import { AckedPublisher, publishAcked } from "../src/nats/publish.ts";
import { connectNats } from "../src/nats/connection.ts";
import { jetstream as jetstreamClient, jetstreamManager } from "@nats-io/jetstream";
import { startTestNats } from "../test/support/nats.ts";

const STEPS = Number(process.argv[2] ?? 400);
const WARMUP = 40;
const TARGET_BYTES = 20 * 1024;

function message(i: number): BaseMessage {
  switch (i % 3) {
    case 0:
      return new HumanMessage({ id: `h${i}`, content: `Find and summarise sources on topic ${i}. `.repeat(4) });
    case 1:
      return new AIMessage({
        id: `a${i}`,
        content: "",
        tool_calls: [{ id: `call${i}`, name: "web_search", args: { query: `topic ${i}`, max_results: 5 } }],
      });
    default:
      return new ToolMessage({ id: `t${i}`, tool_call_id: `call${i - 1}`, content: `Result ${i}: ${"lorem ipsum ".repeat(30)}` });
  }
}

/** Channel values of a deep-agent-like state of about TARGET_BYTES serialized. */
function initialState(): { messages: BaseMessage[]; todos: unknown[]; files: Record<string, unknown> } {
  const state = {
    messages: [] as BaseMessage[],
    todos: [
      { content: "Collect sources", status: "completed" },
      { content: "Draft the article", status: "in_progress" },
      { content: "Verify citations", status: "pending" },
    ],
    files: { "/notes.md": { content: ["# Notes", "- first finding"], created_at: "2026-11-25T09:00:00Z", modified_at: "2026-11-25T09:00:00Z" } },
  };
  let i = 0;
  while (JSON.stringify(state).length < TARGET_BYTES) state.messages.push(message(i++));
  return state;
}

interface Timings {
  put: number[];
  putWrites: number[];
  getTuple: number[];
  step: number[];
}

async function step(
  saver: BaseCheckpointSaver,
  threadId: string,
  parent: RunnableConfig,
  checkpoint: Checkpoint,
  newVersions: Record<string, number>,
  writes: PendingWrite[],
  t: Timings,
  record: boolean,
): Promise<RunnableConfig> {
  let t0 = performance.now();
  const config = await saver.put(parent, checkpoint, { source: "loop", step: 1, parents: {} }, newVersions);
  const put = performance.now() - t0;
  t0 = performance.now();
  await saver.putWrites(config, writes, `task-${checkpoint.id}`);
  const putWrites = performance.now() - t0;
  t0 = performance.now();
  const tuple = await saver.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: "" } });
  const getTuple = performance.now() - t0;
  if (tuple?.checkpoint.id !== checkpoint.id) throw new Error(`read back ${tuple?.checkpoint.id}, wrote ${checkpoint.id}`);
  if (record) {
    t.put.push(put);
    t.putWrites.push(putWrites);
    t.getTuple.push(getTuple);
    t.step.push(put + putWrites + getTuple);
  }
  return config;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}
const r3 = (x: number) => Math.round(x * 1000) / 1000;

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "vibewriter-bench-"));
  const nats = await startTestNats();
  try {
    const sqlite = SqliteSaver.fromConnString(join(dir, "checkpoints.db"));
    const { nc, js, jsm } = nats.backbone;
    const jetstream = new JetStreamCheckpointSaver({ nc, js, jsm });
    const eachCall = new JetStreamCheckpointSaver({ nc, js, jsm, writeAcks: "each-call" });
    const timings = (): Timings => ({ put: [], putWrites: [], getTuple: [], step: [] });
    const savers = [
      { name: "sqlite", saver: sqlite as BaseCheckpointSaver, t: timings() },
      { name: "jetstream", saver: jetstream as BaseCheckpointSaver, t: timings() },
      { name: "jetstream_each_call", saver: eachCall as BaseCheckpointSaver, t: timings() },
    ];
    // The floor under any acknowledged write: one 1 KiB publish + JetStream ack, on a stream of its own.
    await jsm.streams.add({ name: "BENCH_FLOOR", subjects: ["bench.floor.>"] });
    const floor: number[] = [];
    const leanFloor: number[] = [];
    const lean = new AckedPublisher(nc);
    const state = initialState();
    const bytes = JSON.stringify(state).length;
    const threadId = uuid6(-1);
    // The two JetStream savers share the stream: each works on a thread of its own.
    const threadOf = (name: string) => (name === "jetstream_each_call" ? `${threadId}-each-call` : threadId);
    const parents = new Map<string, RunnableConfig>(savers.map((s) => [s.name, { configurable: { thread_id: threadOf(s.name), checkpoint_ns: "" } }]));
    const versions: Record<string, number> = { messages: 1, todos: 1, files: 1, "branch:to:agent": 1, __start__: 1 };
    let next = state.messages.length;
    for (let i = 0; i < STEPS + WARMUP; i++) {
      // One agent step: a new message, sometimes a todo update; the routing channel always changes.
      state.messages = [...state.messages.slice(1), message(next++)];
      const newVersions: Record<string, number> = { messages: ++versions.messages, "branch:to:agent": ++versions["branch:to:agent"] };
      if (i % 5 === 0) {
        state.todos = [...state.todos];
        newVersions.todos = ++versions.todos;
      }
      const checkpoint: Checkpoint = {
        v: 4,
        id: uuid6(-1),
        ts: new Date().toISOString(),
        channel_values: { ...state, "branch:to:agent": null, __start__: { messages: [] } },
        channel_versions: { ...versions },
        versions_seen: { agent: { messages: versions.messages - 1 }, tools: { messages: versions.messages - 1 } },
      };
      const writes: PendingWrite[] = [
        ["messages", [message(next)]],
        ["branch:to:agent", null],
      ];
      const f0 = performance.now();
      await publishAcked(js, `bench.floor.${i}`, new Uint8Array(1024));
      if (i >= WARMUP) floor.push(performance.now() - f0);
      const l0 = performance.now();
      await lean.publish(`bench.floor.lean.${i}`, new Uint8Array(1024));
      if (i >= WARMUP) leanFloor.push(performance.now() - l0);
      // Alternate which saver goes first so neither always gets the warmer cache.
      const order = i % 2 === 0 ? savers : [...savers].reverse();
      for (const s of order) {
        // Each saver gets its own checkpoint id (the JetStream ones share a stream).
        const own = s.name === "jetstream_each_call" ? { ...checkpoint, id: uuid6(-1) } : checkpoint;
        parents.set(s.name, await step(s.saver, threadOf(s.name), parents.get(s.name)!, own, newVersions, writes, s.t, i >= WARMUP));
      }
    }
    await jetstream.close();
    await eachCall.close();

    // Resume in a new process: a fresh saver reads the latest checkpoint back (only the messages
    // it needs: the checkpoint, the ones holding its values and delta bases, its writes).
    const coldNc = await connectNats({ url: nats.server.url, name: "bench-cold" });
    const coldJs = new JetStreamCheckpointSaver({ nc: coldNc, js: jetstreamClient(coldNc), jsm: await jetstreamManager(coldNc) });
    let t0 = performance.now();
    const coldTuple = await coldJs.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: "" } });
    const coldJetstream = performance.now() - t0;
    await coldJs.close();
    await coldNc.close();
    const coldSqlite = SqliteSaver.fromConnString(join(dir, "checkpoints.db"));
    t0 = performance.now();
    const coldRow = await coldSqlite.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: "" } });
    const coldSqliteMs = performance.now() - t0;
    if (coldTuple?.checkpoint.id !== coldRow?.checkpoint.id) throw new Error("cold reads disagree");

    const ops = ["put", "putWrites", "getTuple", "step"] as const;
    const med = (name: string, op: (typeof ops)[number]) => quantile(savers.find((s) => s.name === name)!.t[op], 0.5);
    const p90 = (name: string, op: (typeof ops)[number]) => quantile(savers.find((s) => s.name === name)!.t[op], 0.9);
    console.log(`checkpoint ≈ ${(bytes / 1024).toFixed(1)} KiB (${state.messages.length} messages), ${STEPS} steps after ${WARMUP} warm-up, one thread`);
    console.log("op         sqlite med   jetstream med   ratio   (p90 sqlite / jetstream)   writeAcks each-call: med, ratio");
    const out: Record<string, number | string> = { bench: "checkpoint", steps: STEPS, checkpoint_bytes: bytes };
    for (const op of ops) {
      const a = med("sqlite", op);
      const b = med("jetstream", op);
      const e = med("jetstream_each_call", op);
      console.log(
        `${op.padEnd(10)} ${a.toFixed(3).padStart(8)} ms ${b.toFixed(3).padStart(11)} ms ${(b / a).toFixed(2).padStart(7)}   (${p90("sqlite", op).toFixed(3)} / ${p90("jetstream", op).toFixed(3)} ms)` +
          `   ${e.toFixed(3).padStart(9)} ms ${(e / a).toFixed(2).padStart(6)}`,
      );
      out[`sqlite_${op}_ms`] = r3(a);
      out[`jetstream_${op}_ms`] = r3(b);
      out[`${op}_ratio`] = r3(b / a);
      out[`jetstream_each_call_${op}_ms`] = r3(e);
      out[`each_call_${op}_ratio`] = r3(e / a);
    }
    console.log(`cold getTuple (new process, ${STEPS + WARMUP} checkpoints on the thread): sqlite ${coldSqliteMs.toFixed(1)} ms, jetstream ${coldJetstream.toFixed(1)} ms`);
    out.sqlite_cold_getTuple_ms = r3(coldSqliteMs);
    out.jetstream_cold_getTuple_ms = r3(coldJetstream);
    const f = quantile(floor, 0.5);
    console.log(`floor: one acknowledged 1 KiB JetStream publish (js.publish), median ${f.toFixed(3)} ms (p90 ${quantile(floor, 0.9).toFixed(3)} ms)`);
    out.jetstream_publish_ack_1k_ms = r3(f);
    const lf = quantile(leanFloor, 0.5);
    console.log(`floor: the same through AckedPublisher (the checkpointer's path), median ${lf.toFixed(3)} ms (p90 ${quantile(leanFloor, 0.9).toFixed(3)} ms)`);
    out.acked_publisher_1k_ms = r3(lf);
    // No putWrites that waits for its ack can beat one acked publish: the best each-call ratio.
    const floorRatio = lf / med("sqlite", "putWrites");
    console.log(`putWrites ratio floor with writeAcks each-call (AckedPublisher 1 KiB / sqlite putWrites): ${floorRatio.toFixed(2)}`);
    out.putWrites_floor_ratio = r3(floorRatio);
    console.log(JSON.stringify(out));
  } finally {
    await nats.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
