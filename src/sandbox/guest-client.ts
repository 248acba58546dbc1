/**
 * The host end of the guest protocol over any byte stream (`Duplex`): the unix socket of QEMU's
 * virtio-serial chardev, a Firecracker vsock, or a socket to an agent running on the host in tests.
 *
 * Requests run concurrently by id; bodies of any size are chunked both ways; each request can be
 * cancelled (AbortSignal) or given a timeout, both of which also cancel it in the guest. When the
 * channel closes or the guest breaks the protocol, every pending request rejects with a
 * `GuestError` (`channel_closed` / `protocol`), and so does every later one.
 */
import { randomInt } from "node:crypto";
import type { Duplex } from "node:stream";
import { encodeFrame, FrameDecoder } from "../guest/framing.ts";
import { MAX_FRAME_BODY, PROTOCOL_VERSION, type ExecArgs, type ExecResult, type HelloResult, type Op, type OpMap } from "../guest/protocol.ts";
import { GuestError, GuestErrorCode } from "./guest-error.ts";
import { checkEvent, checkResult, type GuestEvent } from "./guest-validate.ts";

export interface RequestOptions {
  /** Request body: file contents for write/upload, stdin for exec. */
  body?: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
  /** Reject with `timeout` (and cancel in the guest) after this many ms. Default: none. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called for each `data` frame instead of collecting the bytes. */
  onData?: (bytes: Buffer, tags: { stream?: "stdout" | "stderr"; part?: number }) => void;
  /** exec: called with the guest pid once the command started. */
  onStart?: (pid: number) => void;
}

export interface Response<O extends Op> {
  value: OpMap[O]["result"];
  /** `data` frames' bytes in order (empty when `onData` was given), tagged. */
  data: { bytes: Buffer; stream?: "stdout" | "stderr"; part?: number }[];
}

export interface GuestClientOptions {
  /** Timeout of the opening `hello`. Default 30 s (a restored TCG guest can be slow to answer). */
  helloTimeoutMs?: number;
  /** Most bytes one response may carry in `data` frames when collected. Default 512 MiB. */
  maxResponseBytes?: number;
}

interface Pending {
  op: Op;
  resolve: (r: Response<Op>) => void;
  reject: (e: GuestError) => void;
  data: Response<Op>["data"];
  bytes: number;
  onData?: RequestOptions["onData"];
  onStart?: RequestOptions["onStart"];
}

const DEFAULT_MAX_RESPONSE = 512 * 1024 * 1024;
/** What the guest delivers of a command's output when the request names no cap (its own default). */
const DEFAULT_EXEC_OUTPUT = 16 * 1024 * 1024;

export class GuestClient {
  private readonly decoder = new FrameDecoder();
  private readonly pending = new Map<number, Pending>();
  /** Random base so frames left over from an earlier connection never match a live id. */
  private nextId = randomInt(1, 2 ** 30);
  private failure: GuestError | null = null;
  private drained: Promise<void> | null = null;
  private readonly maxResponseBytes: number;
  private closedResolve!: (e: GuestError) => void;
  /** Resolves (never rejects) with the reason once the channel is unusable. */
  readonly closed: Promise<GuestError> = new Promise((resolve) => (this.closedResolve = resolve));
  hello: HelloResult | null = null;

  private constructor(
    private readonly channel: Duplex,
    opts: GuestClientOptions,
  ) {
    this.maxResponseBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE;
    channel.on("data", (chunk: Buffer) => this.receive(chunk));
    channel.on("error", (err) => this.fail(new GuestError(GuestErrorCode.ChannelClosed, `guest channel failed: ${err.message}`, { cause: err })));
    channel.on("close", () => this.fail(new GuestError(GuestErrorCode.ChannelClosed, "guest channel closed (the VM or its agent is gone)")));
    channel.on("end", () => this.fail(new GuestError(GuestErrorCode.ChannelClosed, "guest channel ended (the VM or its agent is gone)")));
    // A previous reader (the VMM's readiness handshake) may have paused the stream explicitly;
    // a new `data` listener does not undo that.
    channel.resume();
  }

  /** Wraps a connected stream and performs the `hello` handshake (protocol version, clock). */
  static async connect(channel: Duplex, opts: GuestClientOptions = {}): Promise<GuestClient> {
    const client = new GuestClient(channel, opts);
    try {
      const { value } = await client.request("hello", { nowMs: Date.now(), protocolVersion: PROTOCOL_VERSION }, { timeoutMs: opts.helloTimeoutMs ?? 30_000 });
      if (value.protocolVersion !== PROTOCOL_VERSION) {
        throw new GuestError(GuestErrorCode.VersionMismatch, `guest speaks protocol ${value.protocolVersion}, host ${PROTOCOL_VERSION}`);
      }
      client.hello = value;
      return client;
    } catch (err) {
      client.close();
      throw err;
    }
  }

  get isClosed(): boolean {
    return this.failure !== null;
  }

  /** Sends one request and resolves with its result (and collected data bytes). */
  async request<O extends Op>(op: O, args: OpMap[O]["args"], opts: RequestOptions = {}): Promise<Response<O>> {
    if (this.failure) throw this.failure;
    if (opts.signal?.aborted) throw new GuestError(GuestErrorCode.Cancelled, `${op} cancelled before it was sent`);
    const id = this.nextId++;
    const done = new Promise<Response<O>>((resolve, reject) => {
      this.pending.set(id, { op, resolve: resolve as (r: Response<Op>) => void, reject, data: [], bytes: 0, onData: opts.onData, onStart: opts.onStart });
    });
    // It may reject while the body is still being sent; it is awaited below.
    done.catch(() => {});
    const cleanups: (() => void)[] = [];
    const abandon = (err: GuestError): void => {
      const p = this.pending.get(id);
      if (!p) return;
      this.pending.delete(id);
      p.reject(err);
      // Tell the guest; its late frames for this id are then ignored.
      if (!this.failure) void this.request("cancel", { target: id }).catch(() => {});
    };
    if (opts.timeoutMs !== undefined) {
      const timer = setTimeout(() => abandon(new GuestError(GuestErrorCode.Timeout, `${op} timed out after ${opts.timeoutMs} ms`)), opts.timeoutMs);
      cleanups.push(() => clearTimeout(timer));
    }
    if (opts.signal) {
      const onAbort = (): void => abandon(new GuestError(GuestErrorCode.Cancelled, `${op} cancelled`, { cause: opts.signal?.reason }));
      opts.signal.addEventListener("abort", onAbort, { once: true });
      cleanups.push(() => opts.signal?.removeEventListener("abort", onAbort));
    }
    try {
      await this.sendRequest(id, op, args, opts.body);
      return await done;
    } catch (err) {
      // A send that failed half-way leaves the guest waiting for the rest of a body: cancel it.
      if (err instanceof GuestError) abandon(err);
      else abandon(new GuestError(GuestErrorCode.BadRequest, `${op}: could not send the body: ${(err as Error).message}`, { cause: err }));
      return await done;
    } finally {
      for (const c of cleanups) c();
    }
  }

  /**
   * Runs a command, collecting its output: capped in the guest by `maxOutputBytes`, and again
   * here (a compromised guest ignores caps) — bytes past the cap are dropped and `truncated` set.
   */
  async exec(args: ExecArgs, opts: Omit<RequestOptions, "onData"> & { onOutput?: RequestOptions["onData"] } = {}): Promise<ExecResult & { output: Buffer }> {
    const cap = Math.min(args.maxOutputBytes ?? DEFAULT_EXEC_OUTPUT, this.maxResponseBytes);
    const parts: Buffer[] = [];
    let kept = 0;
    let cut = false;
    const { value } = await this.request("exec", args, {
      ...opts,
      onData: (bytes, tags) => {
        if (kept >= cap) {
          cut = true;
          return;
        }
        const part = kept + bytes.length > cap ? bytes.subarray(0, cap - kept) : bytes;
        cut ||= part.length < bytes.length;
        kept += part.length;
        parts.push(part);
        opts.onOutput?.(part, tags);
      },
    });
    return { ...value, truncated: value.truncated || cut, output: Buffer.concat(parts) };
  }

  /** Runs a command as a stream of events: start → output… → end (or a thrown GuestError). */
  async *execStream(args: ExecArgs, opts: Omit<RequestOptions, "onData" | "onStart"> = {}): AsyncGenerator<ExecEvent> {
    const queue: ExecEvent[] = [];
    let wake: (() => void) | null = null;
    let finished = false;
    let failure: unknown = null;
    const push = (e: ExecEvent): void => {
      queue.push(e);
      wake?.();
    };
    this.request("exec", args, {
      ...opts,
      onStart: (pid) => push({ type: "start", pid }),
      onData: (bytes, tags) => push({ type: "output", stream: tags.stream ?? "stdout", bytes }),
    }).then(
      ({ value }) => {
        push({ type: "end", result: value });
        finished = true;
        wake?.();
      },
      (err) => {
        failure = err;
        finished = true;
        wake?.();
      },
    );
    for (;;) {
      const e = queue.shift();
      if (e) {
        yield e;
        continue;
      }
      if (finished) {
        if (failure) throw failure;
        return;
      }
      await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
    }
  }

  /** Closes the channel; pending requests reject with `channel_closed`. */
  close(): void {
    this.fail(new GuestError(GuestErrorCode.ChannelClosed, "guest client closed"));
  }

  private async sendRequest(id: number, op: Op, args: unknown, body: RequestOptions["body"]): Promise<void> {
    if (body === undefined) return this.write(encodeFrame({ id, op, args }));
    if (body instanceof Uint8Array) {
      if (body.length <= MAX_FRAME_BODY) return this.write(encodeFrame({ id, op, args }, body));
      body = [body];
    }
    // Stream the body: the request frame carries the first part, `chunk` frames the rest.
    let first = true;
    let held: Buffer | null = null; // one part of look-ahead, so the last frame says more: false
    const flush = async (part: Buffer, more: boolean): Promise<void> => {
      if (this.failure) throw this.failure;
      if (!this.pending.has(id)) throw new GuestError(GuestErrorCode.Cancelled, `${op} cancelled while sending its body`);
      if (first) {
        first = false;
        await this.write(encodeFrame({ id, op, args, more }, part));
      } else await this.write(encodeFrame({ id, op: "chunk", more }, part));
    };
    for await (const chunk of body as AsyncIterable<Uint8Array>) {
      const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      for (let at = 0; at < buf.length; at += MAX_FRAME_BODY) {
        if (held) await flush(held, true);
        held = buf.subarray(at, at + MAX_FRAME_BODY);
      }
    }
    await flush(held ?? Buffer.alloc(0), false);
  }

  /** Writes with back-pressure: waits for `drain` when the stream's buffer is full. */
  private async write(frame: Buffer): Promise<void> {
    while (this.drained) await this.drained;
    if (this.failure) throw this.failure;
    if (!this.channel.write(frame)) {
      this.drained = new Promise<void>((resolve) => {
        const done = (): void => {
          this.channel.off("drain", done);
          this.channel.off("close", done);
          this.drained = null;
          resolve();
        };
        this.channel.on("drain", done);
        this.channel.on("close", done);
      });
    }
  }

  private receive(chunk: Buffer): void {
    if (this.failure) return;
    try {
      for (const frame of this.decoder.push(chunk)) this.dispatch(checkEvent(frame.header), frame.body);
    } catch (err) {
      const e = err instanceof GuestError ? err : new GuestError(GuestErrorCode.Protocol, `guest broke the framing: ${(err as Error).message}`, { cause: err });
      this.fail(e);
    }
  }

  private dispatch(event: GuestEvent, body: Buffer): void {
    // id 0 belongs to the VMM driver's readiness handshake; unknown ids are stale or cancelled.
    const p = event.id === 0 ? undefined : this.pending.get(event.id);
    if (!p) return;
    switch (event.ev) {
      case "start":
        p.onStart?.(event.pid);
        return;
      case "data": {
        if (p.onData) {
          p.onData(body, { stream: event.stream, part: event.part });
          return;
        }
        p.bytes += body.length;
        if (p.bytes > this.maxResponseBytes) {
          this.pending.delete(event.id);
          p.reject(new GuestError(GuestErrorCode.TooLarge, `${p.op} response exceeds ${this.maxResponseBytes} bytes`));
          void this.request("cancel", { target: event.id }).catch(() => {});
          return;
        }
        p.data.push({ bytes: body, stream: event.stream, part: event.part });
        return;
      }
      case "result":
        // The last untagged data part may travel in the result frame's body.
        if (body.length) {
          if (p.onData) p.onData(body, {});
          else if ((p.bytes += body.length) > this.maxResponseBytes) {
            this.pending.delete(event.id);
            p.reject(new GuestError(GuestErrorCode.TooLarge, `${p.op} response exceeds ${this.maxResponseBytes} bytes`));
            return;
          } else p.data.push({ bytes: body });
        }
        this.pending.delete(event.id);
        try {
          p.resolve({ value: checkResult(p.op, event.value), data: p.data });
        } catch (err) {
          p.reject(err as GuestError);
        }
        return;
      case "error":
        this.pending.delete(event.id);
        p.reject(new GuestError(event.code, event.message));
        return;
      case "ready":
        return;
    }
  }

  private fail(err: GuestError): void {
    if (this.failure) return;
    this.failure = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.channel.destroy();
    this.closedResolve(err);
  }
}

export type ExecEvent =
  | { type: "start"; pid: number }
  | { type: "output"; stream: "stdout" | "stderr"; bytes: Buffer }
  | { type: "end"; result: ExecResult };
