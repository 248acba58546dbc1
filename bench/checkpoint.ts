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
 * Held: a run holds its thread's lease, and its checkpointer is told so (`holdThread`): reads of
 * the thread answer from memory, its own writes included before their acks. The same saver with its
 * thread held runs in the same loop (`held_*_ratio` = held JetStream / sqlite); `*_ratio` alone is
 * a saver that may share the thread with other writers and asks the server on every read.
 *
 *   npx tsx bench/checkpoint.ts [steps] [checkpoints for the large cold read, 5000]
 *
 * Authentication: the same JetStream savers also run on the default set-up — the embedded
 * nats-server of a state directory (`openBackbone`, role runtime: nkey identity, the runtime's
 * subject permissions checked by the server on every publish and subscription) — beside today's
 * anonymous server, in the same loop. `auth_*_ratio` is authenticated / anonymous per op (target ≤ 1.05).
 *
 * Durability: when the nats-server binary (NATS_SERVER_BIN or PATH) is 2.10 or newer, the same
 * savers also run on a third server started with `jetstream { sync_interval: always }` (each write
 * fsynced before its acknowledgement, what the embedded server uses on such versions), in the same
 * loop; `sync_*_ratio` is always-synced / default (fsync every 2 min) per op, same binary, same disk.
 * With an older server that side is not measured, and the output says why. On 2.10 the embedded
 * server above syncs every write too, so its `auth_*_ratio` includes that cost.
 *
 * Prints a table, then one JSON line with the medians, `*_ratio` (JetStream / sqlite) and
 * `auth_*_ratio` (authenticated / anonymous JetStream).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
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
import { provisionLayout } from "../src/app/backbone.ts";
import { NatsRole } from "../src/nats/auth.ts";
import { openBackbone, openOnConnection, type Backbone } from "../src/nats/backbone.ts";
import { natsServerVersion, startNatsServer, supportsSyncAlways, type NatsServer } from "../src/nats/server.ts";
import { loadOrCreateIdentity } from "../src/nats/identities.ts";
import { startTestNats } from "../test/support/nats.ts";

const STEPS = Number(process.argv[2] ?? 400);
const WARMUP = 40;
const TARGET_BYTES = 20 * 1024;
/** The thread is grown to this many checkpoints for the second cold read. */
const COLD_LARGE = Number(process.argv[3] ?? 5000);
const COLD_ROUNDS = 7;

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

/** An anonymous nats-server whose JetStream fsyncs each write before acknowledging it (≥ 2.10). */
async function startSyncNats(): Promise<{ server: NatsServer; backbone: Backbone; close(): Promise<void> }> {
  const storeDir = await mkdtemp(join(tmpdir(), "vibewriter-bench-sync-"));
  const configFile = join(storeDir, "nats-server.conf");
  await writeFile(configFile, `jetstream: ${JSON.stringify({ store_dir: storeDir, sync_interval: "always" })}\n`);
  const server = await startNatsServer({ storeDir, configFile });
  const nc = await connectNats({ url: server.url, name: "bench-sync" });
  const backbone = await openOnConnection(nc);
  return {
    server,
    backbone,
    async close() {
      await backbone.close();
      await server.stop();
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "vibewriter-bench-"));
  const nats = await startTestNats();
  // The default set-up: the embedded server of a state directory, this process as the runtime.
  const stateDir = await mkdtemp(join(tmpdir(), "vibewriter-bench-state-"));
  const auth = await openBackbone({ stateDir, env: { VIBEWRITER_STATE_DIR: stateDir }, role: NatsRole.Runtime, name: "bench-auth", provision: provisionLayout });
  const natsVersion = natsServerVersion() ?? "unknown";
  const sync = supportsSyncAlways(natsVersion) ? await startSyncNats() : undefined;
  try {
    if (auth.auth !== "nkey" || !auth.server) throw new Error(`expected the embedded server with nkey auth, got ${auth.auth}`);
    const sqlite = SqliteSaver.fromConnString(join(dir, "checkpoints.db"));
    const { nc, js, jsm } = nats.backbone;
    const jetstream = new JetStreamCheckpointSaver({ nc, js, jsm });
    const eachCall = new JetStreamCheckpointSaver({ nc, js, jsm, writeAcks: "each-call" });
    const held = new JetStreamCheckpointSaver({ nc, js, jsm });
    const authed = new JetStreamCheckpointSaver({ nc: auth.nc, js: auth.js, jsm: auth.jsm });
    const authedEachCall = new JetStreamCheckpointSaver({ nc: auth.nc, js: auth.js, jsm: auth.jsm, writeAcks: "each-call" });
    const timings = (): Timings => ({ put: [], putWrites: [], getTuple: [], step: [] });
    // Each authenticated saver right after its anonymous twin; the order flips every step, so
    // within each pair either side goes first half of the time.
    const savers = [
      { name: "sqlite", saver: sqlite as BaseCheckpointSaver, t: timings() },
      { name: "jetstream", saver: jetstream as BaseCheckpointSaver, t: timings() },
      { name: "jetstream_held", saver: held as BaseCheckpointSaver, t: timings() },
      { name: "jetstream_auth", saver: authed as BaseCheckpointSaver, t: timings() },
      { name: "jetstream_each_call", saver: eachCall as BaseCheckpointSaver, t: timings() },
      { name: "jetstream_auth_each_call", saver: authedEachCall as BaseCheckpointSaver, t: timings() },
    ];
    const synced = sync && new JetStreamCheckpointSaver({ nc: sync.backbone.nc, js: sync.backbone.js, jsm: sync.backbone.jsm });
    const syncedEachCall =
      sync && new JetStreamCheckpointSaver({ nc: sync.backbone.nc, js: sync.backbone.js, jsm: sync.backbone.jsm, writeAcks: "each-call" });
    if (synced && syncedEachCall) {
      savers.push(
        { name: "jetstream_sync", saver: synced as BaseCheckpointSaver, t: timings() },
        { name: "jetstream_sync_each_call", saver: syncedEachCall as BaseCheckpointSaver, t: timings() },
      );
    }
    // The floor under any acknowledged write: one 1 KiB publish + JetStream ack, on a stream of its own.
    await jsm.streams.add({ name: "BENCH_FLOOR", subjects: ["bench.floor.>"] });
    if (sync) await sync.backbone.jsm.streams.add({ name: "BENCH_FLOOR", subjects: ["bench.floor.>"] });
    const syncFloor: number[] = [];
    const floor: number[] = [];
    const leanFloor: number[] = [];
    const lean = new AckedPublisher(nc);
    const state = initialState();
    const bytes = JSON.stringify(state).length;
    const threadId = uuid6(-1);
    // The two JetStream savers of a server share its stream: each works on a thread of its own
    // (so both servers hold the same amount of data).
    const threadOf = (name: string) => (name.endsWith("_each_call") ? `${threadId}-each-call` : name === "jetstream_held" ? `${threadId}-held` : threadId);
    const releaseHeld = held.holdThread(threadOf("jetstream_held"));
    const parents = new Map<string, RunnableConfig>(savers.map((s) => [s.name, { configurable: { thread_id: threadOf(s.name), checkpoint_ns: "" } }]));
    const versions: Record<string, number> = { messages: 1, todos: 1, files: 1, "branch:to:agent": 1, __start__: 1 };
    let next = state.messages.length;
    // One agent step: a new message, sometimes a todo update; the routing channel always changes.
    const nextStep = (i: number) => {
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
      return { checkpoint, newVersions, writes };
    };
    for (let i = 0; i < STEPS + WARMUP; i++) {
      const { checkpoint, newVersions, writes } = nextStep(i);
      const f0 = performance.now();
      await publishAcked(js, `bench.floor.${i}`, new Uint8Array(1024));
      if (i >= WARMUP) floor.push(performance.now() - f0);
      const l0 = performance.now();
      await lean.publish(`bench.floor.lean.${i}`, new Uint8Array(1024));
      if (i >= WARMUP) leanFloor.push(performance.now() - l0);
      if (sync) {
        const s0 = performance.now();
        await publishAcked(sync.backbone.js, `bench.floor.${i}`, new Uint8Array(1024));
        if (i >= WARMUP) syncFloor.push(performance.now() - s0);
      }
      // Alternate which saver goes first so neither always gets the warmer cache.
      const order = i % 2 === 0 ? savers : [...savers].reverse();
      for (const s of order) {
        // Each saver gets its own checkpoint id (the JetStream ones share a stream).
        const own = s.name.endsWith("_each_call") || s.name === "jetstream_held" ? { ...checkpoint, id: uuid6(-1) } : checkpoint;
        parents.set(s.name, await step(s.saver, threadOf(s.name), parents.get(s.name)!, own, newVersions, writes, s.t, i >= WARMUP));
      }
    }
    await jetstream.close();
    releaseHeld();
    await held.close();
    await eachCall.close();
    await authed.close();
    await authedEachCall.close();
    await synced?.close();
    await syncedEachCall?.close();

    // Resume in a new process: a fresh saver reads the latest checkpoint back (only the messages
    // it needs: the checkpoint, the ones holding its values and delta bases, its writes).
    const coldRead = async (url: string, nkeySeed?: Uint8Array) => {
      const coldNc = await connectNats({ url, name: "bench-cold", nkeySeed });
      const coldJs = new JetStreamCheckpointSaver({ nc: coldNc, js: jetstreamClient(coldNc), jsm: await jetstreamManager(coldNc) });
      const t0 = performance.now();
      const tuple = await coldJs.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: "" } });
      const ms = performance.now() - t0;
      await coldJs.close();
      await coldNc.close();
      return { tuple, ms };
    };
    const runtimeSeed = (await loadOrCreateIdentity(stateDir, NatsRole.Runtime)).seed;
    // sqlite's resume: a new saver on the same file (opening it, its set-up, the query).
    const coldSqliteRead = async () => {
      const saver = SqliteSaver.fromConnString(join(dir, "checkpoints.db"));
      const t0 = performance.now();
      const tuple = await saver.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: "" } });
      const ms = performance.now() - t0;
      saver.db.close();
      return { tuple, ms };
    };
    // Several rounds, the sides alternating; medians.
    const coldRounds = async (withAuth: boolean) => {
      const ms = { sqlite: [] as number[], jetstream: [] as number[], auth: [] as number[] };
      let id: string | undefined;
      for (let r = 0; r < COLD_ROUNDS; r++) {
        const sides = [
          async () => ms.sqlite.push((await check(await coldSqliteRead())).ms),
          async () => ms.jetstream.push((await check(await coldRead(nats.server.url))).ms),
          ...(withAuth ? [async () => ms.auth.push((await check(await coldRead(auth.server!.url, runtimeSeed))).ms)] : []),
        ];
        for (const side of r % 2 === 0 ? sides : sides.reverse()) await side();
      }
      async function check<T extends { tuple: { checkpoint: { id: string } } | undefined }>(x: T): Promise<T> {
        id ??= x.tuple?.checkpoint.id;
        if (!x.tuple || x.tuple.checkpoint.id !== id) throw new Error("cold reads disagree");
        return x;
      }
      return { sqlite: quantile(ms.sqlite, 0.5), jetstream: quantile(ms.jetstream, 0.5), auth: withAuth ? quantile(ms.auth, 0.5) : NaN };
    };
    const cold = await coldRounds(true);
    const coldJetstream = cold.jetstream;
    const coldSqliteMs = cold.sqlite;
    const coldAuth = { ms: cold.auth };

    // The same thread grown to COLD_LARGE checkpoints (sqlite and JetStream only), read cold again.
    {
      const js2 = new JetStreamCheckpointSaver({ nc, js, jsm });
      const sqlite2 = SqliteSaver.fromConnString(join(dir, "checkpoints.db"));
      const none = timings();
      for (let i = STEPS + WARMUP; i < COLD_LARGE; i++) {
        const { checkpoint, newVersions, writes } = nextStep(i);
        parents.set("sqlite", await step(sqlite2, threadId, parents.get("sqlite")!, checkpoint, newVersions, writes, none, false));
        parents.set("jetstream", await step(js2, threadId, parents.get("jetstream")!, checkpoint, newVersions, writes, none, false));
      }
      await js2.close();
      sqlite2.db.close();
    }
    const coldLarge = await coldRounds(false);
    let t0: number;

    // Connecting (the CLI connects once per command): TCP + CONNECT + first PING/PONG, with and
    // without the nkey handshake (the server's nonce signed with the runtime's seed).
    const connectAnon: number[] = [];
    const connectAuth: number[] = [];
    for (let i = 0; i < 40; i++) {
      for (const [url, seed, out] of i % 2 === 0
        ? ([[nats.server.url, undefined, connectAnon], [auth.server.url, runtimeSeed, connectAuth]] as const)
        : ([[auth.server.url, runtimeSeed, connectAuth], [nats.server.url, undefined, connectAnon]] as const)) {
        const c0 = performance.now();
        const c = await connectNats({ url, name: "bench-connect", nkeySeed: seed });
        await c.flush();
        if (i >= 4) out.push(performance.now() - c0);
        await c.close();
      }
    }

    const ops = ["put", "putWrites", "getTuple", "step"] as const;
    const med = (name: string, op: (typeof ops)[number]) => quantile(savers.find((s) => s.name === name)!.t[op], 0.5);
    const p90 = (name: string, op: (typeof ops)[number]) => quantile(savers.find((s) => s.name === name)!.t[op], 0.9);
    console.log(`checkpoint ≈ ${(bytes / 1024).toFixed(1)} KiB (${state.messages.length} messages), ${STEPS} steps after ${WARMUP} warm-up, one thread`);
    console.log("op         sqlite med   jetstream med   ratio   (p90 sqlite / jetstream)   writeAcks each-call: med, ratio   thread held (a run): med, ratio");
    const out: Record<string, number | string | boolean> = { bench: "checkpoint", steps: STEPS, checkpoint_bytes: bytes };
    for (const op of ops) {
      const a = med("sqlite", op);
      const b = med("jetstream", op);
      const e = med("jetstream_each_call", op);
      const h = med("jetstream_held", op);
      console.log(
        `${op.padEnd(10)} ${a.toFixed(3).padStart(8)} ms ${b.toFixed(3).padStart(11)} ms ${(b / a).toFixed(2).padStart(7)}   (${p90("sqlite", op).toFixed(3)} / ${p90("jetstream", op).toFixed(3)} ms)` +
          `   ${e.toFixed(3).padStart(9)} ms ${(e / a).toFixed(2).padStart(6)}   ${h.toFixed(3).padStart(9)} ms ${(h / a).toFixed(2).padStart(6)}`,
      );
      out[`jetstream_held_${op}_ms`] = r3(h);
      out[`held_${op}_ratio`] = r3(h / a);
      out[`sqlite_${op}_ms`] = r3(a);
      out[`jetstream_${op}_ms`] = r3(b);
      out[`${op}_ratio`] = r3(b / a);
      out[`jetstream_each_call_${op}_ms`] = r3(e);
      out[`each_call_${op}_ratio`] = r3(e / a);
    }
    for (const [n, c] of [[STEPS + WARMUP, cold], [COLD_LARGE, coldLarge]] as const) {
      console.log(
        `cold getTuple (new connection and saver, ${n} checkpoints on the thread, median of ${COLD_ROUNDS}): sqlite ${c.sqlite.toFixed(2)} ms, jetstream ${c.jetstream.toFixed(2)} ms, ratio ${(c.jetstream / c.sqlite).toFixed(2)}`,
      );
      out[`sqlite_cold_getTuple_${n}_ms`] = r3(c.sqlite);
      out[`jetstream_cold_getTuple_${n}_ms`] = r3(c.jetstream);
      out[`cold_getTuple_${n}_ratio`] = r3(c.jetstream / c.sqlite);
    }
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

    console.log("");
    console.log("authentication: the same savers on the default set-up (embedded server, runtime nkey + permissions) / anonymous server");
    console.log("op         anonymous med   authenticated med   ratio   (p90 anon / auth)        writeAcks each-call: anon, auth, ratio");
    for (const op of ops) {
      const a = med("jetstream", op);
      const b = med("jetstream_auth", op);
      const ea = med("jetstream_each_call", op);
      const eb = med("jetstream_auth_each_call", op);
      console.log(
        `${op.padEnd(10)} ${a.toFixed(3).padStart(11)} ms ${b.toFixed(3).padStart(15)} ms ${(b / a).toFixed(3).padStart(7)}   (${p90("jetstream", op).toFixed(3)} / ${p90("jetstream_auth", op).toFixed(3)} ms)` +
          `   ${ea.toFixed(3).padStart(9)} ms ${eb.toFixed(3).padStart(9)} ms ${(eb / ea).toFixed(3).padStart(7)}`,
      );
      out[`jetstream_auth_${op}_ms`] = r3(b);
      out[`auth_${op}_ratio`] = r3(b / a);
      out[`jetstream_auth_each_call_${op}_ms`] = r3(eb);
      out[`auth_each_call_${op}_ratio`] = r3(eb / ea);
    }
    console.log(`cold getTuple (new connection): anonymous ${coldJetstream.toFixed(1)} ms, authenticated ${coldAuth.ms.toFixed(1)} ms`);
    out.jetstream_auth_cold_getTuple_ms = r3(coldAuth.ms);
    const ca = quantile(connectAnon, 0.5);
    const cb = quantile(connectAuth, 0.5);
    console.log(`connect + first round trip: anonymous ${ca.toFixed(3)} ms, nkey ${cb.toFixed(3)} ms, ratio ${(cb / ca).toFixed(2)}`);
    out.connect_anon_ms = r3(ca);
    out.connect_nkey_ms = r3(cb);
    out.auth_connect_ratio = r3(cb / ca);
    const worst = Math.max(...ops.map((op) => med("jetstream_auth", op) / med("jetstream", op)));
    console.log(`authenticated / anonymous, worst op (default writeAcks): ${worst.toFixed(3)} (target ≤ 1.05)`);
    out.auth_worst_ratio = r3(worst);

    console.log("");
    out.nats_server_version = natsVersion;
    out.embedded_sync_always = supportsSyncAlways(natsVersion);
    if (sync) {
      console.log(`durability: the same savers on nats-server ${natsVersion} with sync_interval: always (fsync before each ack) / default (fsync every 2 min)`);
      console.log("op         default med   always med   ratio   (p90 default / always)        writeAcks each-call: default, always, ratio");
      for (const op of ops) {
        const a = med("jetstream", op);
        const b = med("jetstream_sync", op);
        const ea = med("jetstream_each_call", op);
        const eb = med("jetstream_sync_each_call", op);
        console.log(
          `${op.padEnd(10)} ${a.toFixed(3).padStart(9)} ms ${b.toFixed(3).padStart(9)} ms ${(b / a).toFixed(2).padStart(7)}   (${p90("jetstream", op).toFixed(3)} / ${p90("jetstream_sync", op).toFixed(3)} ms)` +
            `   ${ea.toFixed(3).padStart(9)} ms ${eb.toFixed(3).padStart(9)} ms ${(eb / ea).toFixed(2).padStart(6)}`,
        );
        out[`jetstream_sync_${op}_ms`] = r3(b);
        out[`sync_${op}_ratio`] = r3(b / a);
        out[`jetstream_sync_each_call_${op}_ms`] = r3(eb);
        out[`sync_each_call_${op}_ratio`] = r3(eb / ea);
        out[`sync_vs_sqlite_${op}_ratio`] = r3(b / med("sqlite", op));
      }
      const sf = quantile(syncFloor, 0.5);
      console.log(`floor: one acknowledged 1 KiB publish with sync_interval: always, median ${sf.toFixed(3)} ms (p90 ${quantile(syncFloor, 0.9).toFixed(3)} ms), ${(sf / f).toFixed(2)}× the default`);
      out.sync_publish_ack_1k_ms = r3(sf);
      out.sync_publish_ratio = r3(sf / f);
      out.sync_always_measured = true;
    } else {
      const why = `nats-server ${natsVersion} has no sync_interval: always (it fsyncs every 2 min); 2.10 or newer has it (set NATS_SERVER_BIN to one)`;
      console.log(`durability: not measured: ${why}`);
      out.sync_always_measured = false;
      out.sync_always_not_measured = why;
    }
    console.log(JSON.stringify(out));
  } finally {
    await sync?.close();
    await auth.close();
    await nats.close();
    await rm(dir, { recursive: true, force: true });
    await rm(stateDir, { recursive: true, force: true });
  }
}

await main();
