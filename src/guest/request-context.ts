/** What a handler gets for one request. A leaf: ops import it, handlers.ts imports the ops. */
import type { Args, Op } from "../protocol/index.ts";
import type { BodyStream } from "./body.ts";

export interface RequestContext<A = Record<string, unknown>> {
  id: number;
  /** Checked against the op's schema before the handler runs. */
  args: A;
  /** Request body parts (empty for most ops). */
  body: BodyStream;
  /** Aborted on `cancel` or when the host disconnects (made on first use: see `aborted`). */
  readonly signal: AbortSignal;
  /** The same as `signal.aborted`, without making a signal (that costs ~0.2 ms under TCG). */
  readonly aborted: boolean;
  /** Send an event frame for this request (`start`). */
  send(header: Record<string, unknown>, body?: Buffer): Promise<void>;
  /** Send bulk bytes as `data` frames (split at MAX_FRAME_BODY). */
  data(bytes: Buffer, tags?: Record<string, unknown>): Promise<void>;
  /** Cancel another request of this session. */
  cancel(target: number): boolean;
}

/** The request of one op, its arguments typed by the op's schema. */
export type OpRequest<O extends Op> = RequestContext<Args<O>>;
