/**
 * A request body arriving in parts (write contents, upload parts, stdin) as an async iterable.
 * The session counts buffered bytes across bodies and pauses the transport when too much waits.
 */
import { GuestAgentError } from "./errors.ts";
import { ErrorCode } from "../protocol/index.ts";

export class BodyStream implements AsyncIterable<Buffer> {
  private parts: Buffer[] = [];
  private ended = false;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;
  /** Set once the handler no longer wants bytes: later parts are dropped. */
  discarded = false;

  constructor(private readonly onConsumed: (bytes: number) => void) {}

  push(part: Buffer, last: boolean): void {
    if (!this.discarded && part.length) this.parts.push(part);
    else if (part.length) this.onConsumed(part.length);
    if (last) this.ended = true;
    this.wake?.();
  }

  fail(err: Error): void {
    this.failure = err;
    this.wake?.();
  }

  discard(): void {
    this.discarded = true;
    const bytes = this.parts.reduce((n, p) => n + p.length, 0);
    this.parts = [];
    if (bytes) this.onConsumed(bytes);
  }

  get done(): boolean {
    return this.ended;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) {
      const part = this.parts.shift();
      if (part) {
        this.onConsumed(part.length);
        yield part;
        continue;
      }
      if (this.failure) throw this.failure;
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }

  /** Reads exactly `n` bytes (for upload, whose body is several files back to back). */
  async *take(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      const part = this.parts.shift();
      if (part) {
        const mine = part.length <= left ? part : part.subarray(0, left);
        if (part.length > left) this.parts.unshift(part.subarray(left));
        this.onConsumed(mine.length);
        left -= mine.length;
        yield mine;
        continue;
      }
      if (this.failure) throw this.failure;
      if (this.ended) throw new GuestAgentError(ErrorCode.BadRequest, `body ended ${left} bytes early`);
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }
}

/** The empty body, for requests that carry none. */
export function emptyBody(): BodyStream {
  const body = new BodyStream(() => {});
  body.push(Buffer.alloc(0), true);
  return body;
}
