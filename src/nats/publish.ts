import { JetStreamApiError, type JetStreamClient, type PubAck } from "@nats-io/jetstream";
import {
  ClosedConnectionError,
  DrainingConnectionError,
  headers,
  InvalidArgumentError,
  InvalidSubjectError,
  nuid,
  PermissionViolationError,
  type Msg,
  type NatsConnection,
} from "@nats-io/transport-node";
import { diskFullError, isNoRoom } from "./disk-space.ts";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";
import { WRONG_LAST_SEQUENCE } from "./jetstream-codes.ts";

export interface AckedPublishOptions {
  /** Dedup id; generated when omitted. Reused on every retry so a retried write is stored once. */
  msgID?: string;
  /** Only store when the subject has no message yet (first write wins). */
  ifAbsent?: boolean;
  /** Per-attempt ack timeout (ms). */
  ackTimeoutMs?: number;
  /** Give up after this long (ms); must stay below the stream's duplicate window (2 min). */
  deadlineMs?: number;
}

export type AckedPublishResult = { stored: true; ack: PubAck } | { stored: false; reason: "exists" };

/** Something that does one publish attempt and resolves with JetStream's ack. */
type Attempt = (subject: string, data: Uint8Array, msgID: string, ifAbsent: boolean, timeoutMs: number) => Promise<PubAck>;

/**
 * Publish and wait for JetStream's ack. A missing ack (timeout, disconnect, server restarting)
 * is retried with the same `msgID` until the deadline, so the message is stored exactly once.
 */
export function publishAcked(
  js: JetStreamClient,
  subject: string,
  data: Uint8Array,
  opts: AckedPublishOptions = {},
): Promise<AckedPublishResult> {
  const attempt: Attempt = (subj, payload, msgID, ifAbsent, timeout) =>
    js.publish(subj, payload, { msgID, timeout, expect: ifAbsent ? { lastSubjectSequence: 0 } : undefined });
  return withRetries(attempt, subject, data, opts);
}

/**
 * The same contract as `publishAcked`, with less work per write: one reply subscription for the
 * connection instead of a request (with its error object, timer wrapper and header parsing) per
 * call. Still one publish and one JetStream ack per write. Used on the checkpointer's hot path.
 */
export class AckedPublisher {
  readonly #nc: NatsConnection;
  readonly #inbox = `_INBOX.${nuid.next()}.`;
  readonly #pending = new Map<string, { resolve: (m: Msg) => void; reject: (e: unknown) => void; timer: NodeJS.Timeout }>();
  #subscribed = false;
  #next = 0;

  constructor(nc: NatsConnection) {
    this.#nc = nc;
  }

  publish(subject: string, data: Uint8Array, opts: AckedPublishOptions = {}): Promise<AckedPublishResult> {
    return withRetries(this.#attempt, subject, data, opts);
  }

  #subscribe(): void {
    if (this.#subscribed) return;
    this.#subscribed = true;
    const sub = this.#nc.subscribe(`${this.#inbox}*`, {
      callback: (_err, m) => {
        const p = this.#pending.get(m.subject.slice(this.#inbox.length));
        if (!p) return; // an ack that arrived after its attempt timed out
        this.#pending.delete(m.subject.slice(this.#inbox.length));
        clearTimeout(p.timer);
        p.resolve(m);
      },
    });
    void sub.closed.then(() => {
      this.#subscribed = false;
      for (const [k, p] of this.#pending) {
        clearTimeout(p.timer);
        p.reject(new ClosedConnectionError());
        this.#pending.delete(k);
      }
    });
  }

  readonly #attempt: Attempt = (subject, data, msgID, ifAbsent, timeoutMs) => {
    this.#subscribe();
    const token = (this.#next++).toString(36);
    const h = headers();
    h.set("Nats-Msg-Id", msgID);
    if (ifAbsent) h.set("Nats-Expected-Last-Subject-Sequence", "0");
    return new Promise<Msg>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(token);
        reject(new AckTimeout());
      }, timeoutMs);
      this.#pending.set(token, { resolve, reject, timer });
      try {
        this.#nc.publish(subject, data, { reply: this.#inbox + token, headers: h });
      } catch (err) {
        clearTimeout(timer);
        this.#pending.delete(token);
        reject(err);
      }
    }).then(parseAck);
  };
}

/** No ack within the attempt's timeout (retryable). */
class AckTimeout extends Error {
  override name = "AckTimeout";
}

/** An error reply from JetStream to one write: `status` is HTTP-like (503 = unavailable), `errCode` JetStream's. */
export class AckRefusedError extends NatsBackboneError {
  static override readonly errorName = "AckRefusedError";
  constructor(
    readonly status: number,
    readonly errCode: number,
    description: string,
  ) {
    super(NatsErrorCode.WriteRefused, description);
  }
}

function parseAck(m: Msg): PubAck {
  // A status-only reply: 503 no responders (no stream has the subject, or JetStream is restarting).
  if (m.data.length === 0) {
    throw new AckRefusedError(m.headers?.code ?? 503, 0, m.headers?.description || "no responders");
  }
  const r = m.json<{ stream?: string; seq?: number; duplicate?: boolean; domain?: string; error?: { code: number; err_code?: number; description?: string } }>();
  if (r.error) throw new AckRefusedError(r.error.code, r.error.err_code ?? 0, r.error.description ?? "JetStream refused the write");
  if (!r.stream || typeof r.seq !== "number") throw new AckRefusedError(500, 0, "invalid ack response");
  const ack: PubAck = { stream: r.stream, seq: r.seq, duplicate: r.duplicate ?? false };
  if (r.domain) ack.domain = r.domain;
  return ack;
}

async function withRetries(attempt: Attempt, subject: string, data: Uint8Array, opts: AckedPublishOptions): Promise<AckedPublishResult> {
  const msgID = opts.msgID ?? nuid.next();
  const deadline = Date.now() + (opts.deadlineMs ?? 90_000);
  const timeout = opts.ackTimeoutMs ?? 2_000;
  const ifAbsent = opts.ifAbsent ?? false;
  let delay = 25;
  for (let n = 1; ; n++) {
    try {
      return { stored: true, ack: await attempt(subject, data, msgID, ifAbsent, timeout) };
    } catch (err) {
      if (ifAbsent && isWrongLastSequence(err)) return { stored: false, reason: "exists" };
      // JetStream at its storage limit answers 503 too, but waiting will not make room: say so now.
      if (isNoRoom(err)) throw diskFullError(err);
      if (!isRetryable(err) || Date.now() + delay > deadline) {
        throw new NatsBackboneError(
          NatsErrorCode.WriteFailed,
          `JetStream did not acknowledge the write to ${subject} after ${n} attempt(s)`,
          { cause: err },
        );
      }
      // Backoff between retries while the client reconnects (it buffers while disconnected).
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 500);
    }
  }
}

function isWrongLastSequence(err: unknown): boolean {
  return (
    (err instanceof JetStreamApiError && err.code === WRONG_LAST_SEQUENCE) ||
    (AckRefusedError.isInstance(err) && err.errCode === WRONG_LAST_SEQUENCE)
  );
}

function isRetryable(err: unknown): boolean {
  if (
    err instanceof ClosedConnectionError ||
    err instanceof DrainingConnectionError ||
    err instanceof InvalidArgumentError ||
    err instanceof InvalidSubjectError ||
    err instanceof PermissionViolationError
  ) {
    return false;
  }
  if (err instanceof JetStreamApiError) return err.status === 503 || err.status === 408;
  if (AckRefusedError.isInstance(err)) return err.status === 503 || err.status === 408;
  return true; // timeouts, "no responders" while the server restarts, disconnects
}
