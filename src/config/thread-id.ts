import { randomBytes } from "node:crypto";
import { CodedError } from "../errors.ts";

/**
 * The thread id rule, the one every entry point checks (CLI, console, run service, agent,
 * sandbox; the checkpointer may call it too): 1 to 64 ASCII letters, digits, `-` or `_`, starting
 * with a letter or digit.
 *
 * Why this rule: an id becomes a NATS subject token, a KV key, an Object Store folder
 * (`threads/<id>/…`), a file name in exports and part of the sandbox's id, so no `.` (a subject
 * separator, and `..` a path), no `/`, no spaces. It is the rule `createVibewriter` and the run
 * service have always enforced, so every thread that exists satisfies it; the sandbox accepted a
 * wider one (128 characters, dots), but only ever received ids that had passed this one. Ids made
 * by the code fit: `newThreadId` (run, submit, the run service) makes `t-YYYYMMDD-HHMMSS-xxxxxx` (24),
 * `delegate` makes `<parent, cut to 44>-d-<12 hex>` (59).
 */
export const THREAD_ID_MAX_LENGTH = 64;
export const THREAD_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** The rule in words, for error messages. */
export const THREAD_ID_RULE = `use letters, digits, - and _ (at most ${THREAD_ID_MAX_LENGTH} characters, starting with a letter or digit)`;

export const ThreadIdErrorCode = {
  /** Not a string, or a string outside the rule. */
  InvalidThreadId: "invalid_thread_id",
} as const;
export type ThreadIdErrorCode = (typeof ThreadIdErrorCode)[keyof typeof ThreadIdErrorCode];

/** What `assertThreadId` throws when the caller gives no error of its own layer. */
export class ThreadIdError extends CodedError<ThreadIdErrorCode> {
  static override readonly errorName = "ThreadIdError";
}

export function isThreadId(value: unknown): value is string {
  return typeof value === "string" && THREAD_ID_PATTERN.test(value);
}

/** `invalid thread id "<id, cut to 80>": <rule>`. */
export function invalidThreadIdMessage(value: unknown): string {
  return `invalid thread id "${String(value).slice(0, 80)}": ${THREAD_ID_RULE}`;
}

/**
 * Throws unless `value` is a thread id. A layer with its own error type passes `toError` so its
 * callers keep branching on its codes (the agent: `AgentError(invalid_thread_id)`).
 */
export function assertThreadId(
  value: unknown,
  toError: (message: string) => Error = (message) => new ThreadIdError(ThreadIdErrorCode.InvalidThreadId, message),
): asserts value is string {
  if (!isThreadId(value)) throw toError(invalidThreadIdMessage(value));
}

/** A new thread id: `<prefix>-YYYYMMDD-HHMMSS-<6 hex>`, sortable by time, unique enough, valid for the rule. */
export function newThreadId(prefix = "t", now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `${prefix}-${stamp}-${randomBytes(3).toString("hex")}`;
}
