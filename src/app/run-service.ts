/**
 * The `vibewriter` NATS service (NATS micro protocol, `@nats-io/services`), hosted by every
 * worker: discoverable with standard tooling (`nats micro ls`, `$SRV.PING|INFO|STATS.vibewriter`),
 * each request answered by one worker (queue group).
 *
 * Endpoints (subjects under `Names.serviceSubjectPrefix`):
 * - `vibewriter.svc.submit` — `{ task, threadId?, allowNetwork?, maxModelCalls?, maxTokens?,
 *   sources?: [{ name, base64 }] }` → `{ threadId, status: "queued" }`. Queues a new thread as
 *   `vibewriter submit` does. Runtime and owner identities only (NATS permissions).
 * - `vibewriter.svc.status` — `{ threadId }` → `{ threadId, status, reason?, task?, queueDepth,
 *   runner? }`. Anyone, the viewer included.
 * Errors are service errors (`Nats-Service-Error`, `Nats-Service-Error-Code`): 400 a bad request,
 * 404 an unknown thread, 409 a thread that exists, 500 anything else.
 *
 * STATS carries the worker's `WorkerStats` as each endpoint's `data` (`vibewriter fleet` reads it).
 *
 * `@nats-io/services` 3.0.0-25 (the only release) was built on nats-core 3.0.0-50 and keeps that
 * copy for its helpers (headers, nuid); it drives our 3.4.0 connection through its public API.
 */
import { Kvm } from "@nats-io/kv";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { Svcm, type Service, type ServiceMsg } from "@nats-io/services";
import type { NatsConnection } from "@nats-io/transport-node";
import type { BaseStore } from "@langchain/langgraph-checkpoint";
import { newThreadId } from "../config/index.ts";
import { artifactBlobs, type ArtifactStore, EventLog, EventType, JetStreamStore, Names, type RunQueue, type ThreadLeases } from "../nats/index.ts";
import { AgentError, AgentErrorCode, queueThread, runStateOf, type Source, sourceFromBytes } from "../agent/index.ts";

/** What a worker reports in the service's STATS (and `vibewriter fleet` shows). */
export interface WorkerStats {
  workerId: string;
  host: string;
  pid: number;
  /** Runs at once, at most. */
  concurrency: number;
  /** Thread ids running now. */
  inFlight: string[];
  /** Runs that ended (completed, paused, incomplete) since the worker started. */
  finished: number;
  failed: number;
  /** Threads this worker took over from a worker that died. */
  takeovers: number;
  /** VMs this worker's process runs now. */
  vms: number;
  // Metrics (optional: a worker from before them omits them).
  /** The runs going on now (lease taken, request runnable): thread, request kind, age, taken over. */
  running?: RunningRun[];
  /** Wall time of the runs that ended here (finished or failed), ms; null before the first. */
  wallMs?: WallTimeStats | null;
  /** The process's VM pool now (`SandboxPool.stats()`). */
  pool?: VmPoolStats;
  /** The last thread taken over from a holder gone silent. */
  lastTakeover?: { threadId: string; from: string; silentMs: number; at: string };
}

export interface RunningRun {
  threadId: string;
  kind: "run" | "resume";
  /** Since the run started here. */
  ageMs: number;
  takenOver: boolean;
}

export interface WallTimeStats {
  runs: number;
  last: number;
  mean: number;
  max: number;
}

export interface VmPoolStats {
  /** Handed out to runs, running. */
  inUse: number;
  /** Being restored from the template snapshot. */
  restoring: number;
  /** Ready and waiting for a run. */
  spare: number;
  /** Since the worker started. */
  restored: number;
  failed: number;
}

export const SERVICE_VERSION = "1.0.0";
export const SubmitSubject = `${Names.serviceSubjectPrefix}.submit`;
export const StatusSubject = `${Names.serviceSubjectPrefix}.status`;

/**
 * Sources sent inline: small files only. The whole request must fit the server's max_payload
 * (1 MiB by default) and base64 adds a third: 512 KiB of files is about 683 KiB on the wire.
 */
export const SERVICE_SOURCE_LIMITS = { maxFiles: 20, maxFileBytes: 256 * 1024, maxTotalBytes: 512 * 1024, maxName: 200 } as const;

export const ServiceErrorCode = { BadRequest: 400, NotFound: 404, Conflict: 409, Internal: 500 } as const;

export interface SubmitRequest {
  task: string;
  threadId?: string;
  allowNetwork?: boolean;
  maxModelCalls?: number;
  maxTokens?: number;
  sources?: Array<{ name: string; base64: string }>;
}

export interface StatusReply {
  threadId: string;
  status: string;
  reason?: string;
  task?: string;
  /** Requests waiting or running on the whole queue. */
  queueDepth: number;
  /** Who holds the thread's lease now (it runs there). */
  runner?: { id: string; host: string; pid: number; kind: string };
}

export interface RunServiceOptions {
  queue: RunQueue;
  artifacts: ArtifactStore;
  worker: () => WorkerStats;
  /** The memory KV store (run options); opened from the connection when omitted. */
  store?: BaseStore;
  events?: EventLog;
  /** For `status`: who runs the thread now. */
  leases?: ThreadLeases;
  /** New thread ids for `submit` without one. */
  newThreadId?: () => string;
}

class RequestError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Start the service on `nats.nc`; `stop()` unsubscribes (requests in progress finish). */
export async function startRunService(
  nats: { nc: NatsConnection; js: JetStreamClient; jsm: JetStreamManager },
  opts: RunServiceOptions,
): Promise<{ stop(): Promise<void>; id: string }> {
  const events = opts.events ?? new EventLog(nats.js, { nc: nats.nc, jsm: nats.jsm });
  const store = opts.store ?? new JetStreamStore({ kv: await new Kvm(nats.js).open(Names.memoryBucket), js: nats.js, bucket: Names.memoryBucket });
  const blobs = artifactBlobs(opts.artifacts);
  const first = opts.worker();
  // The services package types the connection with its own nats-core copy: same API at runtime.
  const svc: Service = await new Svcm(nats.nc as unknown as ConstructorParameters<typeof Svcm>[0]).add({
    name: Names.serviceName,
    version: SERVICE_VERSION,
    description: "Vibewriter workers: submit a research task, ask a thread's status",
    metadata: { workerId: first.workerId, host: first.host, pid: String(first.pid) },
    statsHandler: async () => opts.worker(),
  });
  const serve = (work: (body: unknown) => Promise<unknown>) => (err: Error | null, msg: ServiceMsg) => {
    if (err) return;
    void (async () => {
      try {
        let body: unknown;
        try {
          body = msg.data.length ? JSON.parse(new TextDecoder().decode(msg.data)) : undefined;
        } catch {
          throw new RequestError(ServiceErrorCode.BadRequest, "the request is not JSON");
        }
        msg.respond(JSON.stringify(await work(body)));
      } catch (e) {
        const [code, message] = errorOf(e);
        msg.respondError(code, message);
      }
    })();
  };
  const group = svc.addGroup(Names.serviceSubjectPrefix);
  group.addEndpoint("submit", {
    metadata: { description: "queue a new thread: {task, threadId?, allowNetwork?, maxModelCalls?, maxTokens?, sources?: [{name, base64}]}" },
    handler: serve(async (body) => {
      const req = parseSubmit(body);
      const threadId = req.threadId ?? (opts.newThreadId ?? newThreadId)();
      const sources = await decodeSources(req.sources ?? []);
      await queueThread(
        { blobs, store, events, js: nats.js },
        {
          threadId,
          task: req.task,
          sources,
          skills: [],
          allowNetwork: req.allowNetwork === true,
          ...(req.maxModelCalls ? { maxModelCalls: req.maxModelCalls } : {}),
          ...(req.maxTokens ? { maxTokens: req.maxTokens } : {}),
          by: "service",
        },
      );
      return { threadId, status: "queued" };
    }),
  });
  group.addEndpoint("status", {
    metadata: { description: "a thread's status: {threadId}" },
    handler: serve(async (body) => {
      const threadId = (body as { threadId?: unknown } | undefined)?.threadId;
      if (typeof threadId !== "string" || threadId === "") throw new RequestError(ServiceErrorCode.BadRequest, "status needs {\"threadId\": \"…\"}");
      const history = await events.history(threadId);
      if (history.length === 0) throw new RequestError(ServiceErrorCode.NotFound, `unknown thread "${threadId}"`);
      const { status, reason } = runStateOf(history);
      const task = history.find((e) => (e.type === EventType.RunQueued || e.type === EventType.RunStarted) && typeof e.data.task === "string")?.data as { task?: string } | undefined;
      const holder = status === "running" ? await opts.leases?.holderOf(threadId).catch(() => undefined) : undefined;
      const reply: StatusReply = {
        threadId,
        status,
        ...(reason ? { reason } : {}),
        ...(task?.task ? { task: task.task } : {}),
        queueDepth: await opts.queue.depth(),
        ...(holder && !holder.expired ? { runner: { id: holder.id, host: holder.host, pid: holder.pid, kind: holder.kind } } : {}),
      };
      return reply;
    }),
  });
  // Started means discoverable: the server holds the endpoints' subscriptions before this resolves
  // (a `$SRV` ping right after found no one on a loaded machine).
  await nats.nc.flush();
  return {
    id: svc.info().id,
    async stop() {
      await svc.stop();
    },
  };
}

function parseSubmit(body: unknown): SubmitRequest {
  const bad = (why: string) => new RequestError(ServiceErrorCode.BadRequest, why);
  if (!body || typeof body !== "object" || Array.isArray(body)) throw bad("submit needs a JSON object: {\"task\": \"…\"}");
  const b = body as Record<string, unknown>;
  if (typeof b.task !== "string" || b.task.trim() === "") throw bad("submit needs a task");
  if (b.threadId !== undefined && typeof b.threadId !== "string") throw bad("threadId must be a string");
  if (b.allowNetwork !== undefined && typeof b.allowNetwork !== "boolean") throw bad("allowNetwork must be true or false");
  for (const k of ["maxModelCalls", "maxTokens"]) {
    if (b[k] !== undefined && (!Number.isSafeInteger(b[k]) || (b[k] as number) <= 0)) throw bad(`${k} must be a positive integer`);
  }
  if (b.sources !== undefined && !Array.isArray(b.sources)) throw bad("sources must be a list of {name, base64}");
  return b as unknown as SubmitRequest;
}

/** Inline sources, checked as `--sources` checks files, all or nothing. */
async function decodeSources(list: readonly unknown[]): Promise<Source[]> {
  const L = SERVICE_SOURCE_LIMITS;
  const bad = (why: string) => new RequestError(ServiceErrorCode.BadRequest, why);
  if (list.length > L.maxFiles) throw bad(`${list.length} sources sent; at most ${L.maxFiles} inline (larger sets: \`vibewriter submit --sources DIR\`)`);
  const out: Source[] = [];
  const problems: string[] = [];
  let total = 0;
  for (const [i, item] of list.entries()) {
    const { name, base64 } = (item ?? {}) as { name?: unknown; base64?: unknown };
    if (typeof name !== "string" || name === "" || name.length > L.maxName || /[\0-\x1f]/.test(name) || name.startsWith("/") || name.split("/").includes("..")) {
      throw bad(`source ${i + 1}: name must be a relative file name of 1-${L.maxName} characters`);
    }
    if (typeof base64 !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) throw bad(`source ${name}: base64 is missing or not base64`);
    const bytes = new Uint8Array(Buffer.from(base64, "base64"));
    total += bytes.length;
    if (bytes.length > L.maxFileBytes) throw bad(`source ${name}: ${bytes.length} bytes; at most ${L.maxFileBytes} inline`);
    if (total > L.maxTotalBytes) throw bad(`sources: more than ${L.maxTotalBytes} bytes in all inline`);
    try {
      const s = await sourceFromBytes(name, bytes);
      if (!out.some((o) => o.id === s.id)) out.push(s);
    } catch (e) {
      problems.push(AgentError.isInstance(e) ? e.message : `${name}: ${(e as Error).message}`);
    }
  }
  if (problems.length) throw bad(`refused the sources: ${problems.join("; ")}`);
  return out;
}

function errorOf(e: unknown): [number, string] {
  if (e instanceof RequestError) return [e.code, e.message];
  if (AgentError.isInstance(e, AgentErrorCode.InvalidThreadId) || AgentError.isInstance(e, AgentErrorCode.BadSource)) return [ServiceErrorCode.BadRequest, e.message];
  if (AgentError.isInstance(e, AgentErrorCode.InvalidArgument)) {
    return [/already exists/.test(e.message) ? ServiceErrorCode.Conflict : ServiceErrorCode.BadRequest, e.message];
  }
  return [ServiceErrorCode.Internal, `the worker could not do it: ${(e as Error)?.message ?? String(e)}`];
}
