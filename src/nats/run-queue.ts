/**
 * The run queue: requests to run or resume a thread (`vibewriter submit`, an owner's decision, a
 * child run ending), kept in a JetStream work-queue stream and pulled by `vibewriter worker`s
 * through ONE durable pull consumer they all share, so each request goes to one worker at a time.
 *
 * Acknowledgement is the end of a request: a worker acks when the run finished, paused (for the
 * owner or a child) or failed for good. A worker that dies stops calling `working()`; after the ack
 * wait the request goes to another worker (`deliveryCount` > 1: a takeover). A request that kills
 * `MAX_ATTEMPTS` workers in a row ends as failed (`run.failed` in the thread's events, terminated
 * on the queue) instead of going round forever.
 *
 * `retry()` (the lease is held elsewhere, the worker is stopping) is not a death: the request is
 * put back as a fresh copy that carries its attempt count and a not-before time, and the original
 * is acknowledged. (A plain nak would count as a delivery towards the server's max_deliver, so a
 * thread waiting on a long interactive run would end up failed.)
 *
 * nats-server 2.9 allows one filter per consumer: the consumer takes the whole stream.
 */
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type Consumer,
  type ConsumerConfig,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type StreamConfig,
} from "@nats-io/jetstream";
import { ClosedConnectionError, headers, nanos, type NatsConnection } from "@nats-io/transport-node";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";
import { EventType } from "./event-types.ts";
import { EventLog } from "./events.ts";
import { publishAcked } from "./publish.ts";
import { createWhileSettling } from "./settle.ts";
import { DUPLICATE_WINDOW_NS, ensureStream, Names } from "./streams.ts";

/** One request on the queue (the message body, JSON). */
export interface RunRequest {
  v: 1;
  /** "run": a thread submitted with its task; "resume": carry on from its checkpoint. */
  kind: "run" | "resume";
  threadId: string;
  task?: string;
  allowNetwork?: boolean;
  maxModelCalls?: number;
  maxTokens?: number;
  /** A child run (delegate tool): when it ends, the worker re-queues the parent's resume. */
  parentThreadId?: string;
  /** ISO 8601; with kind and threadId it names the request (its dedup id). */
  submittedAt: string;
}

/** A request handed to one worker. Settle it exactly once: ack, retry or drop. */
export interface QueuedRun {
  request: RunRequest;
  /** 1 the first time; n > 1 when n - 1 workers got it before and died (or stopped answering). */
  deliveryCount: number;
  /** How many times it was put back with `retry` (held lease, stopping worker, NATS outage). */
  retries: number;
  /** Still running: resets the ack wait. Call it well within `RunQueue.ackWaitMs` (a third of it). */
  working(): void;
  /** Finished, paused for the owner or a child, or failed for good: off the queue. */
  ack(): Promise<void>;
  /** Back on the queue, runnable after `delayMs` (lease held elsewhere, worker stopping). Never rejects. */
  retry(delayMs: number): Promise<void>;
  /** Never runnable (bad request): terminated, `reason` published as the thread's `run.failed`. */
  drop(reason: string): Promise<void>;
}

/** The consumer every worker shares. */
export const RUNS_CONSUMER = "workers";
/** The one subject requests are published on (the stream takes `vibewriter.runs.>`). */
export const RUN_REQUEST_SUBJECT = `${Names.runsSubjectPrefix}.request`;
/** How many workers a request may take down before it ends as failed. */
export const MAX_ATTEMPTS = 3;
/**
 * Default ack wait: a worker that stops calling `working()` this long loses the request. Short, so
 * a dead worker's thread runs again elsewhere within ~10 s (the takeover bound); a live
 * worker calls `working()` every third of it. Stalling longer than this only re-delivers the
 * request: the thread's lease still keeps the second worker off until the first lets go.
 */
export const DEFAULT_ACK_WAIT_MS = 6_000;
/** Largest request body accepted (a task is prose; sources travel as artifacts). */
export const MAX_REQUEST_BYTES = 256 * 1024;

/** Headers a re-queued copy carries. */
const Header = {
  /** Workers that died with this request before the copy was made. */
  Deaths: "Vibewriter-Deaths",
  /** How many times it was re-queued (names the copy's msgID). */
  Retries: "Vibewriter-Retries",
  /** Epoch ms before which no worker may start it. */
  NotBefore: "Vibewriter-Not-Before",
} as const;

export function runsStreamConfig(replicas = 1): Partial<StreamConfig> {
  return {
    name: Names.runsStream,
    subjects: [`${Names.runsSubjectPrefix}.>`],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: 0,
    max_msgs: -1,
    max_bytes: -1,
    max_msg_size: MAX_REQUEST_BYTES + 4096,
    num_replicas: replicas,
    duplicate_window: DUPLICATE_WINDOW_NS,
  };
}

/**
 * The shared consumer. The server redelivers an unacknowledged request after backoff[n-1] for its
 * n-th delivery (2.9 uses backoff[0] as the ack wait): a request that keeps killing workers waits
 * longer each time. max_deliver is a backstop; the queue itself fails the request at MAX_ATTEMPTS.
 */
export function runsConsumerConfig(ackWaitMs = DEFAULT_ACK_WAIT_MS): Partial<ConsumerConfig> {
  return {
    durable_name: RUNS_CONSUMER,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(ackWaitMs),
    backoff: [1, 1, 2, 4].map((k) => nanos(k * ackWaitMs)),
    max_deliver: MAX_ATTEMPTS + 3,
    max_ack_pending: -1,
  };
}

/** The request's dedup id: the same submit retried is stored once. */
export function runRequestId(req: RunRequest): string {
  return `${req.kind}/${req.threadId}/${req.submittedAt}`;
}

/** Why a request cannot be queued, or undefined when it is well formed. */
export function runRequestProblem(req: unknown): string | undefined {
  const r = req as Partial<RunRequest> | null;
  if (!r || typeof r !== "object") return "a run request must be an object";
  if (r.v !== 1) return `unknown run request version ${JSON.stringify(r.v)}`;
  if (r.kind !== "run" && r.kind !== "resume") return `unknown run request kind ${JSON.stringify(r.kind)}`;
  if (typeof r.threadId !== "string" || r.threadId === "") return "a run request needs a thread id";
  if (r.kind === "run" && (typeof r.task !== "string" || r.task.trim() === "")) return "a run request needs a task";
  if (typeof r.submittedAt !== "string" || Number.isNaN(Date.parse(r.submittedAt))) return "a run request needs submittedAt (ISO 8601)";
  for (const k of ["maxModelCalls", "maxTokens"] as const) {
    const n = r[k];
    if (n !== undefined && (!Number.isInteger(n) || n <= 0)) return `${k} must be a positive integer`;
  }
  if (r.allowNetwork !== undefined && typeof r.allowNetwork !== "boolean") return "allowNetwork must be true or false";
  if (r.parentThreadId !== undefined && (typeof r.parentThreadId !== "string" || r.parentThreadId === "")) return "parentThreadId must be a thread id";
  return undefined;
}

function encodeRequest(req: RunRequest): Uint8Array {
  const problem = runRequestProblem(req);
  if (problem) throw new NatsBackboneError(NatsErrorCode.InvalidArgument, problem);
  const data = new TextEncoder().encode(JSON.stringify(req));
  if (data.length > MAX_REQUEST_BYTES) {
    throw new NatsBackboneError(NatsErrorCode.InvalidArgument, `a run request is ${data.length} bytes; at most ${MAX_REQUEST_BYTES}`);
  }
  return data;
}

/**
 * Put a request on the queue (acknowledged, stored once per `runRequestId`). Needs only publish
 * rights on `vibewriter.runs.>`: the owner re-queues a decided thread with it.
 */
export async function queueRunRequest(js: JetStreamClient, req: RunRequest): Promise<void> {
  const r = await publishAcked(js, RUN_REQUEST_SUBJECT, encodeRequest(req), { msgID: runRequestId(req) });
  if (!r.stored) throw new NatsBackboneError(NatsErrorCode.WriteFailed, "run request not stored");
}

/** Requests waiting or running (delivered, not yet acknowledged). Any identity may read it. */
export async function runQueueDepth(jsm: JetStreamManager): Promise<number> {
  const info = await jsm.consumers.info(Names.runsStream, RUNS_CONSUMER);
  return info.num_pending + info.num_ack_pending;
}

/**
 * Create the shared consumer; with `reconfigure`, also bring an existing one's ack wait, backoff and
 * max_deliver to `ackWaitMs`'s (only when asked: a submitter must not undo a fleet's setting).
 */
async function ensureRunsConsumer(jsm: JetStreamManager, ackWaitMs: number, reconfigure: boolean): Promise<void> {
  const want = runsConsumerConfig(ackWaitMs);
  try {
    const info = await jsm.consumers.info(Names.runsStream, RUNS_CONSUMER);
    if (!reconfigure) return;
    const have = info.config as unknown as Record<string, unknown>;
    const same = (["ack_wait", "max_deliver", "backoff"] as const).every((k) => JSON.stringify(have[k]) === JSON.stringify(want[k]));
    if (!same) await jsm.consumers.update(Names.runsStream, RUNS_CONSUMER, { ack_wait: want.ack_wait, backoff: want.backoff, max_deliver: want.max_deliver });
  } catch (err) {
    if (!(err instanceof JetStreamApiError) || err.status !== 404) {
      throw new NatsBackboneError(NatsErrorCode.Connect, "cannot set up the run queue's consumer", { cause: err });
    }
    await jsm.consumers.add(Names.runsStream, want);
  }
}

export interface RunQueueOptions {
  replicas?: number;
  /**
   * Ack wait of the shared consumer (default 6 s). Given, it is applied to an existing consumer
   * too (every worker should agree on it); omitted, an existing consumer keeps its own.
   */
  ackWaitMs?: number;
  /** Where a failed request's reason goes (default: an EventLog on the same JetStream client). */
  events?: EventLog;
}

export class RunQueue {
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  #consumer: Consumer;
  readonly #events: EventLog;
  readonly #nc: NatsConnection | undefined;
  /** The consumer's ack wait: call `working()` at least every third of it. */
  readonly ackWaitMs: number;

  private constructor(js: JetStreamClient, jsm: JetStreamManager, consumer: Consumer, events: EventLog, ackWaitMs: number, nc?: NatsConnection) {
    this.#nc = nc;
    this.#js = js;
    this.#jsm = jsm;
    this.#consumer = consumer;
    this.#events = events;
    this.ackWaitMs = ackWaitMs;
  }

  /**
   * Create (or bring to its configuration) the stream and the shared consumer. Runtime identity.
   * With `nc`, terminations wait for the server's confirmation (as `ack()` does).
   */
  static async open(nats: { js: JetStreamClient; jsm: JetStreamManager; nc?: NatsConnection }, opts: RunQueueOptions = {}): Promise<RunQueue> {
    await createWhileSettling(async () => {
      await ensureStream(nats.jsm, runsStreamConfig(opts.replicas ?? 1));
      await ensureRunsConsumer(nats.jsm, opts.ackWaitMs ?? DEFAULT_ACK_WAIT_MS, opts.ackWaitMs !== undefined);
    });
    const consumer = await nats.js.consumers.get(Names.runsStream, RUNS_CONSUMER);
    // The ack wait in force (another worker may have set it): heartbeats are paced on it.
    const ackWaitMs = Math.round(((await nats.jsm.consumers.info(Names.runsStream, RUNS_CONSUMER)).config.ack_wait ?? nanos(DEFAULT_ACK_WAIT_MS)) / 1e6);
    return new RunQueue(nats.js, nats.jsm, consumer, opts.events ?? new EventLog(nats.js, { jsm: nats.jsm }), ackWaitMs, nats.nc);
  }

  submit(req: RunRequest): Promise<void> {
    return queueRunRequest(this.#js, req);
  }

  depth(): Promise<number> {
    return runQueueDepth(this.#jsm);
  }

  /**
   * The next runnable request, or undefined when none came within `expiresMs` (default 30 s) or
   * `signal` aborted. Requests that are malformed or used up their attempts are settled here and
   * never handed out. A pull that fails (server restarting, consumer lost) is tried again until the
   * deadline; only a closed connection throws.
   */
  async next(opts: { signal?: AbortSignal; expiresMs?: number } = {}): Promise<QueuedRun | undefined> {
    const deadline = Date.now() + (opts.expiresMs ?? 30_000);
    const signal = opts.signal;
    let backoff = 100;
    while (!signal?.aborted) {
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      // Pull in short rounds (the server wants at least 1 s): a lost consumer is noticed soon.
      const pull = this.#consumer.next({ expires: Math.max(1_000, Math.min(left, 2_000)) });
      let msg: JsMsg | null | typeof ABORTED;
      try {
        msg = await untilAborted(pull, signal);
      } catch (err) {
        if (this.#nc?.isClosed() || err instanceof ClosedConnectionError) throw err;
        await this.#recover(err);
        await untilAborted(new Promise((r) => setTimeout(r, Math.min(backoff, Math.max(0, deadline - Date.now())))), signal);
        backoff = Math.min(backoff * 2, 2_000);
        continue;
      }
      backoff = 100;
      if (msg === ABORTED) {
        // A request that arrives for the abandoned pull goes back untouched (not a death).
        void pull.then((late) => late && this.#settleable(late).then((r) => r?.retry(0)), () => {});
        return undefined;
      }
      if (!msg) continue;
      const run = await this.#settleable(msg);
      if (run) return run;
    }
    return undefined;
  }

  /** After a failed pull: the shared consumer is set up again if it is gone (someone deleted it). */
  async #recover(_err: unknown): Promise<void> {
    try {
      await ensureRunsConsumer(this.#jsm, this.ackWaitMs, false);
      this.#consumer = await this.#js.consumers.get(Names.runsStream, RUNS_CONSUMER);
    } catch {
      // The server is away: the next round tries again.
    }
  }

  /** A handed-out request, or undefined after settling one no worker should get. */
  async #settleable(msg: JsMsg): Promise<QueuedRun | undefined> {
    let request: RunRequest | undefined;
    try {
      request = JSON.parse(new TextDecoder().decode(msg.data)) as RunRequest;
    } catch {
      await this.#term(msg);
      return undefined;
    }
    const problem = runRequestProblem(request);
    if (problem) {
      const threadId = (request as { threadId?: unknown } | null)?.threadId;
      await this.#failed(typeof threadId === "string" && threadId ? threadId : undefined, `run request refused: ${problem}`);
      await this.#term(msg);
      return undefined;
    }
    const h = msg.headers;
    const carried = Number(h?.get(Header.Deaths) || 0);
    const retries = Number(h?.get(Header.Retries) || 0);
    const notBefore = Number(h?.get(Header.NotBefore) || 0);
    const now = Date.now();
    if (notBefore > now) {
      msg.nak(notBefore - now);
      return undefined;
    }
    // A copy with a not-before time was probably delivered once early and nak'ed: not a death.
    const deaths = carried + Math.max(0, msg.info.deliveryCount - 1 - (notBefore ? 1 : 0));
    if (deaths >= MAX_ATTEMPTS) {
      await this.#failed(
        request.threadId,
        `the run request was taken by ${deaths} workers and none finished it (each died or stopped answering); not trying again`,
        request.parentThreadId,
      );
      await this.#term(msg);
      return undefined;
    }
    const js = this.#js;
    const nc = this.#nc;
    const fail = (threadId: string, reason: string) => this.#failed(threadId, reason, req.parentThreadId);
    const term = () => this.#term(msg);
    let settled = false;
    const settle = () => {
      if (settled) throw new NatsBackboneError(NatsErrorCode.InvalidArgument, "this run request was already settled");
      settled = true;
    };
    const req = request;
    return {
      request: req,
      deliveryCount: deaths + 1,
      retries,
      working: () => {
        if (!settled) msg.working();
      },
      async ack() {
        settle();
        // A cluster electing the consumer's leader (a node died) answers no one for a few seconds:
        // the run is done, so keep acknowledging (harmless twice) rather than call it failed.
        for (let wait = 500; ; wait *= 2) {
          try {
            return void (await msg.ackAck());
          } catch (err) {
            if (wait > 8_000 || nc?.isClosed()) throw err;
            await new Promise((r) => setTimeout(r, wait));
          }
        }
      },
      async retry(delayMs: number) {
        settle();
        try {
          const hdrs = headers();
          hdrs.set(Header.Deaths, String(deaths));
          hdrs.set(Header.Retries, String(retries + 1));
          if (delayMs > 0) hdrs.set(Header.NotBefore, String(Date.now() + delayMs));
          await js.publish(RUN_REQUEST_SUBJECT, encodeRequest(req), {
            msgID: `${runRequestId(req)}/retry-${retries + 1}/${msg.seq}`,
            headers: hdrs,
          });
          await msg.ackAck();
        } catch {
          // The copy may not exist: leave the original to the server (redelivered after a delay).
          try {
            msg.nak(Math.max(delayMs, 1_000));
          } catch {
            // Connection gone: the ack wait returns it to the queue.
          }
        }
      },
      async drop(reason: string) {
        settle();
        await fail(req.threadId, reason);
        await term();
      },
    };
  }

  /**
   * Off the queue for good. Without a reason: nats-server 2.9 ignores `+TERM <reason>` (2.10 added
   * it), the reason goes to the thread's events instead.
   */
  async #term(msg: JsMsg): Promise<void> {
    if (this.#nc && !this.#nc.isClosed() && replyOf(msg)) {
      try {
        await this.#nc.request(replyOf(msg)!, "+TERM", { timeout: 5_000 });
        return;
      } catch {
        // Unconfirmed: fall back to the fire-and-forget form below (harmless if it was applied).
      }
    }
    msg.term();
  }

  /**
   * The thread's `run.failed` (best effort: the request is settled either way). A child run's
   * parent waits for its end: a child failed here, where no worker sees it end, wakes the parent.
   */
  async #failed(threadId: string | undefined, message: string, parentThreadId?: string): Promise<void> {
    if (!threadId) return;
    await this.#events.publish(threadId, { type: EventType.RunFailed, data: { message } }).catch(() => {});
    if (parentThreadId) await this.submit({ v: 1, kind: "resume", threadId: parentThreadId, submittedAt: new Date().toISOString() }).catch(() => {});
  }
}

/** The ack subject of a JetStream message (the client keeps it on the core message). */
function replyOf(msg: JsMsg): string | undefined {
  return (msg as unknown as { msg?: { reply?: string } }).msg?.reply;
}

const ABORTED = Symbol("aborted");

function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T | typeof ABORTED> {
  if (!signal) return p;
  if (signal.aborted) return Promise.resolve(ABORTED);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(ABORTED);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}
