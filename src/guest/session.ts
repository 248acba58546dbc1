/**
 * One host connection: decodes request frames, runs each request concurrently with its own
 * AbortController, and writes events back through the transport's serialised writer.
 */
import {
  AGENT_VERSION,
  encodeFrame,
  ErrorCode,
  FrameDecoder,
  isOp,
  MAX_ARGS_BYTES,
  MAX_ERROR_MESSAGE,
  MAX_FRAME_BODY,
  OP_SCHEMAS,
  PROTOCOL_VERSION,
  requestHeader,
  resultFrames,
  ProtocolError,
  ProtocolErrorCode,
  type Op,
  type RequestHeader,
} from "../protocol/index.ts";
import { BodyStream, emptyBody } from "./body.ts";
import type { AgentContext } from "./context.ts";
import { GuestAgentError, toGuestAgentError } from "./errors.ts";
import { handlers } from "./handlers.ts";
import type { RequestContext } from "./request-context.ts";

/** The byte pipe to the host. `write` resolves when the pipe has taken the bytes (in order; it may batch them). */
export interface Transport {
  write(bytes: Buffer): Promise<void>;
  pause(): void;
  resume(): void;
}

/** Buffered request-body bytes above which the transport stops reading. */
const HIGH_WATER = 16 * 1024 * 1024;
const LOW_WATER = 4 * 1024 * 1024;

interface Running {
  /** Made only when a handler asks for `req.signal` (exec does; most requests never do). */
  controller: AbortController | null;
  aborted: boolean;
  body: BodyStream | null;
  /** The last untagged data part, held back to travel in the result frame (one frame, not two). */
  held: Buffer | null;
}

export class Session {
  private readonly decoder = new FrameDecoder();
  private readonly running = new Map<number, Running>();
  private buffered = 0;
  private paused = false;
  private closed = false;

  constructor(
    private readonly ctx: AgentContext,
    private transport: Transport,
  ) {}

  /** Replaces the byte pipe (the port's transport changes once `ready` went out). */
  setTransport(transport: Transport): void {
    this.transport = transport;
  }

  sendReady(): Promise<void> {
    return this.send({ id: 0, ev: "ready", protocolVersion: PROTOCOL_VERSION, agentVersion: AGENT_VERSION });
  }

  /** Feed raw bytes from the host. A malformed frame ends the session (returns false). */
  receive(chunk: Buffer): boolean {
    let frames;
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      process.stderr.write(`agent: bad frame from host: ${(err as Error).message}\n`);
      this.close();
      return false;
    }
    for (const frame of frames) this.dispatch(frame.header as Record<string, unknown>, frame.body);
    return true;
  }

  /** Host went away: cancel everything it asked for (kills running commands). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const r of this.running.values()) {
      abort(r);
      r.body?.fail(new GuestAgentError(ErrorCode.Cancelled, "host disconnected"));
    }
    this.running.clear();
    if (this.paused) this.transport.resume();
  }

  private dispatch(raw: Record<string, unknown>, body: Buffer): void {
    let header;
    try {
      header = requestHeader.parse(raw, "request");
    } catch (err) {
      // Without a valid id there is no one to answer. id 0 is the VMM driver's readiness hello
      // (see src/sandbox/vmm/handshake.ts); clients use ≥ 1.
      if (typeof raw.id !== "number" || !Number.isSafeInteger(raw.id) || raw.id < 0) {
        process.stderr.write("agent: frame without a valid id ignored\n");
      } else void this.fail(raw.id, new GuestAgentError(ErrorCode.BadRequest, (err as Error).message));
      return;
    }
    const { id, op } = header;
    if (op === "chunk") {
      const r = this.running.get(id);
      if (r?.body) this.accept(r.body, body, header.more !== true);
      return;
    }
    if (!isOp(op)) {
      void this.fail(id, new GuestAgentError(ErrorCode.BadRequest, `unknown op ${JSON.stringify(op)}`));
      return;
    }
    if (this.running.has(id)) {
      void this.fail(id, new GuestAgentError(ErrorCode.BadRequest, `request id ${id} is already running`));
      return;
    }
    const hasBody = body.length > 0 || header.more === true;
    const stream = hasBody ? new BodyStream((n) => this.consumed(n)) : null;
    const running: Running = { controller: null, aborted: false, body: stream, held: null };
    this.running.set(id, running);
    if (stream) this.accept(stream, body, header.more !== true);
    void this.run(id, op, header, running);
  }

  /** The request's arguments, checked by its op's schema (a big request sends them in its body). */
  private args(op: Op, header: RequestHeader, running: Running): unknown {
    if (header.argsBytes === undefined) return parseArgs(op, header.args ?? {});
    const size = header.argsBytes;
    if (size > MAX_ARGS_BYTES) throw new GuestAgentError(ErrorCode.TooLarge, `${op}: arguments of ${size} bytes are more than ${MAX_ARGS_BYTES}`);
    const body = running.body;
    if (!body) throw new GuestAgentError(ErrorCode.BadRequest, `${op}: argsBytes without a body`);
    return (async () => {
      const parts: Buffer[] = [];
      for await (const part of body.take(size)) parts.push(part);
      let raw: unknown;
      try {
        raw = JSON.parse(Buffer.concat(parts).toString("utf8"));
      } catch {
        throw new GuestAgentError(ErrorCode.BadRequest, `${op}: arguments are not JSON`);
      }
      return parseArgs(op, raw);
    })();
  }

  private accept(stream: BodyStream, part: Buffer, last: boolean): void {
    if (!stream.discarded) {
      this.buffered += part.length;
      if (!this.paused && this.buffered > HIGH_WATER) {
        this.paused = true;
        this.transport.pause();
      }
    }
    stream.push(part, last);
  }

  private consumed(bytes: number): void {
    this.buffered -= bytes;
    if (this.paused && this.buffered < LOW_WATER) {
      this.paused = false;
      this.transport.resume();
    }
  }

  private async run(id: number, op: Op, header: RequestHeader, running: Running): Promise<void> {
    const req: RequestContext<unknown> = {
      id,
      args: undefined,
      body: running.body ?? emptyBody(),
      get signal() {
        if (!running.controller) {
          running.controller = new AbortController();
          if (running.aborted) running.controller.abort();
        }
        return running.controller.signal;
      },
      get aborted() {
        return running.aborted;
      },
      send: (header, bytes) => this.send({ id, ...header }, bytes),
      data: (bytes, tags) => this.sendData(id, running, bytes, tags),
      cancel: (target) => this.cancel(target),
    };
    try {
      const args = this.args(op, header, running);
      req.args = args instanceof Promise ? await args : args;
      // The table is typed per op; here the op is only known at run time (args were checked for it).
      const handler = handlers[op] as (ctx: AgentContext, req: RequestContext<unknown>) => Promise<unknown>;
      const value = await handler(this.ctx, req);
      const held = running.held;
      running.held = null;
      // A result of any size: inline, or as result-tagged data frames (see result-frames.ts).
      if (!this.closed) for (const frame of resultFrames(id, value, held ?? undefined)) await this.transport.write(frame);
    } catch (err) {
      const e = running.aborted && !GuestAgentError.isInstance(err) ? new GuestAgentError(ErrorCode.Cancelled, "cancelled") : toGuestAgentError(err);
      if (e.code === ErrorCode.Internal) process.stderr.write(`agent: ${op} failed: ${(err as Error)?.stack ?? err}\n`);
      await this.fail(id, e).catch(() => {});
    } finally {
      running.body?.discard();
      this.running.delete(id);
    }
  }

  private cancel(target: number): boolean {
    const r = this.running.get(target);
    if (!r) return false;
    abort(r);
    r.body?.fail(new GuestAgentError(ErrorCode.Cancelled, "cancelled"));
    return true;
  }

  /**
   * Untagged bytes (read) are sent one part late: the last part rides in the result frame, so a
   * small read is one frame. Tagged parts (exec streams, download parts) go out at once.
   */
  private async sendData(id: number, running: Running, bytes: Buffer, tags?: Record<string, unknown>): Promise<void> {
    const untagged = tags === undefined || Object.keys(tags).length === 0;
    if (running.held) {
      const held = running.held;
      running.held = null;
      await this.send({ id, ev: "data" }, held);
    }
    for (let at = 0; at < bytes.length || at === 0; at += MAX_FRAME_BODY) {
      const part = bytes.subarray(at, at + MAX_FRAME_BODY);
      if (untagged && at + MAX_FRAME_BODY >= bytes.length) {
        running.held = part;
        break;
      }
      await this.send({ id, ev: "data", ...tags }, part);
      if (bytes.length === 0) break;
    }
  }

  /** Ends request `id` with an error; a message quoting model input is cut to fit a frame. */
  private fail(id: number, e: GuestAgentError): Promise<void> {
    const message = e.message.length > MAX_ERROR_MESSAGE ? `${e.message.slice(0, MAX_ERROR_MESSAGE - 20)}… (message cut)` : e.message;
    return this.send({ id, ev: "error", code: e.code, message });
  }

  private send(header: Record<string, unknown>, body?: Buffer): Promise<void> {
    if (this.closed && header.ev !== "ready") return Promise.resolve();
    return this.transport.write(encodeFrame(header, body));
  }
}

function parseArgs(op: Op, raw: unknown): unknown {
  try {
    return OP_SCHEMAS[op].args.parse(raw, "args");
  } catch (err) {
    if (ProtocolError.isInstance(err, ProtocolErrorCode.BadValue)) throw new GuestAgentError(ErrorCode.BadRequest, `${op}: ${err.message}`);
    throw err;
  }
}

function abort(r: Running): void {
  r.aborted = true;
  r.controller?.abort();
}
