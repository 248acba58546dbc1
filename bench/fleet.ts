/**
 * The fleet on this machine (issue 14), side by side in one run: runs per minute with 1, 2 and 4
 * `vibewriter worker` processes (each `-c 1`; baseline: 1 worker), the queue latency (submit →
 * the thread's `run.started`), and the takeover time (a worker SIGKILLed mid-run → its thread's
 * `run.started` again in the other worker) with today's defaults (ack wait 6 s, lease TTL 6 s)
 * against the old ones (60 s, 20 s) as the baseline.
 *
 * Real worker processes (bin/vibewriter.js), real microVMs, the scripted model, and ONE local
 * nats-server (R1, no auth: the replicas do not change the CPU story, and three servers would
 * take CPU from the runs). Workers side by side on one machine take a dead one's lease at once
 * (its pid is gone): that takeover is the queue's ack wait plus the start. Across machines the
 * lease's TTL + margin bounds it: measured too, with each worker in its own pid namespace.
 *
 * `flock /tmp/heavy.lock npx tsx bench/fleet.ts [threads=4] [takeovers=2]`; the last line is one
 * JSON object, `*_ratio` = ours / baseline.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, hostname, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { NatsConnection } from "@nats-io/transport-node";
import { DEMO_TASK } from "../src/agent/demo-model.ts";
import { queueThread } from "../src/agent/queue-thread.ts";
import { SAMPLES_DIR } from "../src/agent/samples.ts";
import { loadSourcesDir } from "../src/agent/sources.ts";
import { openOnConnection, type Backbone } from "../src/nats/backbone.ts";
import { connectNats } from "../src/nats/connection.ts";
import type { VibewriterEvent } from "../src/nats/event-types.ts";
import { RunQueue } from "../src/nats/run-queue.ts";
import { startNatsServer } from "../src/nats/server.ts";
import { Names } from "../src/nats/streams.ts";
import { imagesDir } from "../src/sandbox/image/build.ts";
import { descendants, killAll } from "../test/cli/child.ts";
import { median } from "./vm-ready.ts";

const BIN = fileURLToPath(new URL("../bin/vibewriter.js", import.meta.url));
const WORKER_COUNTS = [1, 2, 4] as const;

/** Every event publish, with when this process saw it (ms, performance clock). */
class Events {
  readonly seen: { at: number; e: VibewriterEvent }[] = [];
  #waiters: { pred: (e: VibewriterEvent) => boolean; resolve: (at: number) => void }[] = [];
  constructor(nc: NatsConnection) {
    nc.subscribe(`${Names.eventsSubjectPrefix}.>`, {
      callback: (err, msg) => {
        if (err) return;
        const at = performance.now();
        const e = msg.json<VibewriterEvent>();
        this.seen.push({ at, e });
        for (const w of [...this.#waiters]) {
          if (w.pred(e)) {
            this.#waiters.splice(this.#waiters.indexOf(w), 1);
            w.resolve(at);
          }
        }
      },
    });
  }
  /** When the first matching event came (already seen or future). */
  when(pred: (e: VibewriterEvent) => boolean): Promise<number> {
    const s = this.seen.find((x) => pred(x.e));
    if (s) return Promise.resolve(s.at);
    return new Promise((resolve) => this.#waiters.push({ pred, resolve }));
  }
}

interface Worker {
  child: ChildProcess;
  out(): string;
  /** Resolves once stdout matches. */
  waitFor(re: RegExp): Promise<void>;
  /** SIGTERM to the worker: it hands its runs back and exits. */
  stop(): void;
  exited: Promise<void>;
}

/**
 * A `vibewriter worker -c 1`. `ownPidSpace`: in a pid namespace of its own (`unshare`), so other
 * workers cannot tell from its pid that it died and wait for its lease to expire, as a worker on
 * another machine must; SIGKILL to it (unshare) kills the whole namespace, VMs included. unshare
 * ignores SIGTERM while it waits, so `stop()` signals the worker inside (its namespace's init,
 * which takes SIGTERM because it handles it).
 */
function startWorker(env: NodeJS.ProcessEnv, ownPidSpace = false): Worker {
  const argv = [process.execPath, BIN, "worker", "-c", "1"];
  const [cmd, ...args] = ownPidSpace ? ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", ...argv] : argv;
  const child = spawn(cmd!, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  child.stdout!.on("data", (d: Buffer) => {
    out += d;
    for (const w of [...waiters]) if (w.re.test(out)) (waiters.splice(waiters.indexOf(w), 1), w.resolve());
  });
  child.stderr!.on("data", (d: Buffer) => (err += d));
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
  void exited.then(() => {
    if (waiters.length) {
      console.error(`a worker exited early:\n${out.slice(-2000)}\n${err.slice(-2000)}`);
      process.exit(1);
    }
  });
  const stop = (): void => {
    if (!ownPidSpace) return void child.kill("SIGTERM");
    let inner: number[] = [];
    try {
      inner = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      // unshare has exited: nothing left to stop
    }
    for (const pid of inner) process.kill(pid, "SIGTERM");
  };
  return {
    child,
    out: () => out,
    stop,
    exited,
    waitFor: (re) => new Promise((resolve) => (re.test(out) ? resolve() : waiters.push({ re, resolve }))),
  };
}

/** Busy share of all CPUs between two /proc/stat readings. */
function cpuTimes(): { busy: number; total: number } {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3]! + f[4]!;
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

async function main(): Promise<void> {
  const threadsPerConfig = Number(process.argv[2] ?? 4);
  const takeovers = Number(process.argv[3] ?? 2);
  const server = await startNatsServer();
  const state = await mkdtemp(join(tmpdir(), "vw-bench-fleet-"));
  const nc = await connectNats({ url: server.url, name: "bench-fleet" });
  const backbone: Backbone = await openOnConnection(nc);
  const events = new Events(nc);
  const sources = await loadSourcesDir(SAMPLES_DIR);
  const baseEnv: NodeJS.ProcessEnv = {
    ...process.env,
    NATS_URL: server.url,
    VIBEWRITER_STATE_DIR: state,
    VIBEWRITER_IMAGES_DIR: imagesDir(),
    VIBEWRITER_SCRIPTED_MODEL: "demo",
  };
  let seq = 0;
  const submit = async (prefix: string): Promise<{ threadId: string; at: number }> => {
    const threadId = `${prefix}-${++seq}`;
    const at = performance.now();
    await queueThread(
      backbone,
      { threadId, task: DEMO_TASK, sources, skills: [], allowNetwork: false, by: "bench" },
    );
    return { threadId, at };
  };
  const stopAll = async (ws: Worker[]) => {
    for (const w of ws) w.stop();
    await Promise.all(ws.map((w) => w.exited));
  };
  const ready = /Ctrl-C stops\./;

  try {
    await RunQueue.open(backbone);

    // 1. Throughput and queue latency with 1, 2, 4 workers (each -c 1), the same batch each time.
    const rows: { workers: number; perMin: number; wallS: number; runS: number; latencyS: number; firstLatencyS: number; cpu: number }[] = [];
    for (const n of WORKER_COUNTS) {
      const ws = Array.from({ length: n }, () => startWorker(baseEnv));
      await Promise.all(ws.map((w) => w.waitFor(ready)));
      const cpu0 = cpuTimes();
      const t0 = performance.now();
      const subs: { threadId: string; at: number }[] = [];
      for (let i = 0; i < threadsPerConfig; i++) subs.push(await submit(`tp${n}`));
      const started = await Promise.all(subs.map((s) => events.when((e) => e.threadId === s.threadId && e.type === "run.started")));
      const finished = await Promise.all(subs.map((s) => events.when((e) => e.threadId === s.threadId && e.type === "run.finished")));
      const wallMs = Math.max(...finished) - t0;
      const cpu1 = cpuTimes();
      await stopAll(ws);
      const row = {
        workers: n,
        perMin: (threadsPerConfig / wallMs) * 60_000,
        wallS: wallMs / 1000,
        runS: median(finished.map((f, i) => f - started[i]!)) / 1000,
        latencyS: median(started.map((s, i) => s - subs[i]!.at)) / 1000,
        firstLatencyS: Math.min(...started.map((s, i) => s - subs[i]!.at)) / 1000,
        cpu: (cpu1.busy - cpu0.busy) / (cpu1.total - cpu0.total),
      };
      rows.push(row);
      process.stderr.write(`${n} worker(s): ${row.perMin.toFixed(2)} runs/min, CPU ${(row.cpu * 100).toFixed(0)}%\n`);
    }

    // 2. Takeover: two workers, one thread; the worker running it SIGKILLed once its main agent's
    //    skill script runs (mid-run); time until the thread's run.started again (resumed).
    const takeover = async (label: string, env: NodeJS.ProcessEnv, ownPidSpace = false): Promise<number> => {
      const ws = [startWorker(env, ownPidSpace), startWorker(env, ownPidSpace)];
      await Promise.all(ws.map((w) => w.waitFor(ready)));
      const { threadId } = await submit(label);
      const ended = events.when((e) => e.threadId === threadId && (e.type === "run.finished" || e.type === "run.failed")).then(() => {
        throw new Error(`${threadId} ended before the kill point:\n${ws.map((w) => w.out().slice(-1500)).join("\n")}`);
      });
      await Promise.race([events.when((e) => e.threadId === threadId && e.type === "tool.started" && e.agent === "main" && e.data.tool === "execute"), ended]);
      const victim = ws.find((w) => w.out().includes(`start ${threadId}`))!;
      const vms = descendants(victim.child.pid!);
      const killedAt = performance.now();
      victim.child.kill("SIGKILL");
      killAll(vms); // its QEMUs, as a machine gone takes them
      const again = await events.when((e) => e.threadId === threadId && e.type === "run.started" && (e.data as { resumed?: boolean }).resumed === true);
      await events.when((e) => e.threadId === threadId && e.type === "run.finished");
      await stopAll(ws);
      return (again - killedAt) / 1000;
    };
    const ours: number[] = [];
    for (let i = 0; i < takeovers; i++) ours.push(await takeover("to", baseEnv));
    process.stderr.write(`takeover (ack wait 6 s): ${ours.map((s) => s.toFixed(1)).join(" ")} s\n`);
    const remote: number[] = [];
    try {
      for (let i = 0; i < takeovers; i++) remote.push(await takeover("tr", baseEnv, true));
    } catch (e) {
      process.stderr.write(`takeover with workers in their own pid namespaces not measured: ${(e as Error).message}\n`);
      remote.push(Number.NaN);
    }
    process.stderr.write(`takeover, each worker in its own pid namespace (lease TTL 6 s): ${remote.map((s) => s.toFixed(1)).join(" ")} s\n`);
    const old = await takeover("to-old", { ...baseEnv, VIBEWRITER_RUN_ACK_WAIT_SEC: "60", VIBEWRITER_LEASE_TTL_SEC: "20" });
    process.stderr.write(`takeover (old: ack wait 60 s): ${old.toFixed(1)} s\n`);

    const base = rows[0]!;
    const f = (x: number, w = 7) => x.toFixed(2).padStart(w);
    const cpu = cpus();
    console.log(`fleet, ${threadsPerConfig} demo threads per row, ${new Date().toISOString()}, ${hostname()}: ${cpu.length} x ${cpu[0]?.model ?? "?"}, TCG, load ${loadavg()[0]!.toFixed(1)}; one local nats-server (R1)`);
    console.log(`${"workers (-c 1 each)".padEnd(22)} ${"runs/min".padStart(8)} ${"ratio".padStart(6)} ${"wall s".padStart(7)} ${"run s".padStart(7)} ${"queue s".padStart(7)} ${"first".padStart(7)} ${"CPU".padStart(5)}`);
    for (const r of rows) {
      console.log(
        `${String(r.workers + (r.workers === 1 ? " (baseline)" : "")).padEnd(22)} ${f(r.perMin, 8)} ${(r.perMin / base.perMin).toFixed(2).padStart(6)} ${f(r.wallS)} ${f(r.runS)} ${f(r.latencyS)} ${f(r.firstLatencyS)} ${`${(r.cpu * 100).toFixed(0)}%`.padStart(5)}`,
      );
    }
    const oursMed = median(ours);
    console.log(`${"takeover".padEnd(22)} ${"ours s".padStart(8)} ${"old s".padStart(7)} ${"ratio".padStart(6)}`);
    console.log(`${"SIGKILL → run.started".padEnd(22)} ${f(oursMed, 8)} ${f(old)} ${(oursMed / old).toFixed(2).padStart(6)}   (ours: ${ours.map((s) => s.toFixed(2)).join(" ")})`);
    const remoteMed = median(remote);
    console.log(`${"  lease must expire".padEnd(22)} ${f(remoteMed, 8)} ${f(old)} ${(remoteMed / old).toFixed(2).padStart(6)}   (each worker in its own pid namespace, as on two machines: ${remote.map((s) => s.toFixed(2)).join(" ")})`);
    const n = (x: number) => Number(x.toFixed(3));
    const byN = Object.fromEntries(rows.map((r) => [r.workers, r]));
    console.log(
      JSON.stringify({
        bench: "fleet",
        threads_per_row: threadsPerConfig,
        nats: "single nats-server R1",
        runs_per_min_1: n(byN[1]!.perMin),
        runs_per_min_2: n(byN[2]!.perMin),
        runs_per_min_4: n(byN[4]!.perMin),
        workers_2_ratio: n(byN[2]!.perMin / base.perMin),
        workers_4_ratio: n(byN[4]!.perMin / base.perMin),
        cpu_busy_1: n(byN[1]!.cpu),
        cpu_busy_2: n(byN[2]!.cpu),
        cpu_busy_4: n(byN[4]!.cpu),
        run_wall_s_1: n(byN[1]!.runS),
        run_wall_s_4: n(byN[4]!.runS),
        queue_latency_first_s: n(base.firstLatencyS),
        queue_latency_median_s_1: n(base.latencyS),
        queue_latency_median_s_4: n(byN[4]!.latencyS),
        takeover_s: n(oursMed),
        takeover_max_s: n(Math.max(...ours)),
        takeover_lease_expiry_s: n(remoteMed),
        takeover_lease_expiry_max_s: n(Math.max(...remote)),
        takeover_lease_expiry_ratio: n(remoteMed / old),
        baseline_takeover_s: n(old),
        takeover_ratio: n(oursMed / old),
      }),
    );
  } finally {
    await backbone.close().catch(() => {});
    await nc.close().catch(() => {});
    await server.stop();
    await rm(state, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
