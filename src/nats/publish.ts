import { JetStreamApiError, type JetStreamClient, type PubAck } from "@nats-io/jetstream";
import {
  ClosedConnectionError,
  DrainingConnectionError,
  InvalidArgumentError,
  InvalidSubjectError,
  nuid,
  PermissionViolationError,
} from "@nats-io/transport-node";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";

/** JetStream's "wrong last sequence" API error: the subject already has a message. */
export const WRONG_LAST_SEQUENCE = 10071;

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

/**
 * Publish and wait for JetStream's ack. A missing ack (timeout, disconnect, server restarting)
 * is retried with the same `msgID` until the deadline, so the message is stored exactly once.
 */
export async function publishAcked(
  js: JetStreamClient,
  subject: string,
  data: Uint8Array,
  opts: AckedPublishOptions = {},
): Promise<AckedPublishResult> {
  const msgID = opts.msgID ?? nuid.next();
  const deadline = Date.now() + (opts.deadlineMs ?? 90_000);
  const timeout = opts.ackTimeoutMs ?? 2_000;
  let delay = 25;
  for (let attempt = 1; ; attempt++) {
    try {
      const ack = await js.publish(subject, data, {
        msgID,
        timeout,
        expect: opts.ifAbsent ? { lastSubjectSequence: 0 } : undefined,
      });
      return { stored: true, ack };
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === WRONG_LAST_SEQUENCE && opts.ifAbsent) {
        return { stored: false, reason: "exists" };
      }
      if (!isRetryable(err) || Date.now() + delay > deadline) {
        throw new NatsBackboneError(
          NatsErrorCode.WriteFailed,
          `JetStream did not acknowledge the write to ${subject} after ${attempt} attempt(s)`,
          { cause: err },
        );
      }
      // Backoff between retries while the client reconnects (it buffers while disconnected).
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 500);
    }
  }
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
  return true; // timeouts, "no responders" while the server restarts, disconnects
}
