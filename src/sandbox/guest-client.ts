/**
 * The host end of the guest protocol over any byte stream (`Duplex`): the unix socket of QEMU's
 * virtio-serial chardev, a Firecracker vsock, or a socket to an agent running on the host in tests.
 *
 * Requests run concurrently by id; bodies and results of any size are chunked both ways; each
 * request can be cancelled (AbortSignal) or given a timeout, both of which also cancel it in the
 * guest. When the channel closes or the guest breaks the framing, every pending request rejects
 * with a `GuestError` (`channel_closed` / `protocol`), and so does every later one.
 *
 * Nothing the guest sends is trusted (it runs the model's commands): every frame header, stream
 * event and result is checked against the op's schema in src/protocol/ before anything uses it,
 * and what the host buffers for one request is capped (`maxResponseBytes`, result JSON included).
 */
import { randomInt } from "node:crypto";
import type { Duplex } from "node:stream";
import {
  encodeFrame,
  encodeFrameJson,
  eventHeader,
  FrameDecoder,
  isOp,
  MAX_ARGS_BYTES,
  MAX_FRAME_BODY,
  MAX_INLINE_RESULT,
  OP_SCHEMAS,
  parseResultJson,
  PROTOCOL_VERSION,
  ProtocolError,
  ProtocolErrorCode,
  type EventHeader,
  type ExecArgs,
  type ExecResult,
  type HelloResult,
  type Op,
  type OpMap,
} from "../protocol/index.ts";
import { GuestError, GuestErrorCode } from "./guest-error.ts";

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
  /**
   * Most bytes the host buffers for one response: collected `data` bytes plus the result's JSON
   * (and a streamed command's queued output). Past it: `too_large` (output: cut, `truncated`).
   * Default 512 MiB.
   */
  maxResponseBytes?: number;
}

interface Pending {
  op: Op;
  resolve: (r: Response<Op>) => void;
  reject: (e: GuestError) => void;
  data: Response<Op>["data"];
  /** Bytes buffered for this response so far (data collected + result JSON parts). */
  bytes: number;
  /** A big result's JSON, in parts (see src/protocol/result-frames.ts). */
  resultParts: Buffer[];
  onData?: RequestOptions["onData"];
  onStart?: RequestOptions["onStart"];
}

const DEFAULT_MAX_RESPONSE = 512 * 1024 * 1024;
/** What the guest delivers of a command's output when the request names no cap (its own default). */
const DEFAULT_EXEC_OUTPUT = OP_SCHEMAS.exec.limits.defaultMaxOutputBytes;

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
    if (!isOp(op)) throw new GuestError(GuestErrorCode.BadRequest, `unknown op ${JSON.stringify(op)}`);
    if (opts.signal?.aborted) throw new GuestError(GuestErrorCode.Cancelled, `${op} cancelled before it was sent`);
    const id = this.nextId++;
    const done = new Promise<Response<O>>((resolve, reject) => {
      this.pending.set(id, { op, resolve: resolve as (r: Response<Op>) => void, reject, data: [], bytes: 0, resultParts: [], onData: opts.onData, onStart: opts.onStart });
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
      if (GuestError.isInstance(err)) abandon(err);
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
    // The consumer may read slower than the guest sends: what the queue may hold over the whole
    // command is capped like a collected response; the rest is dropped and the end says `truncated`.
    const cap = Math.min(args.maxOutputBytes ?? DEFAULT_EXEC_OUTPUT, this.maxResponseBytes);
    let kept = 0;
    let cut = false;
    const push = (e: ExecEvent): void => {
      queue.push(e);
      wake?.();
    };
    this.request("exec", args, {
      ...opts,
      onStart: (pid) => push({ type: "start", pid }),
      onData: (bytes, tags) => {
        const part = kept + bytes.length > cap ? bytes.subarray(0, Math.max(0, cap - kept)) : bytes;
        cut ||= part.length < bytes.length;
        kept += part.length;
        if (part.length) push({ type: "output", stream: tags.stream ?? "stdout", bytes: part });
      },
    }).then(
      ({ value }) => {
        push({ type: "end", result: { ...value, truncated: value.truncated || cut } });
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
    const json = JSON.stringify(args ?? {});
    const jsonBytes = json.length * 3 <= MAX_INLINE_RESULT ? json.length : Buffer.byteLength(json, "utf8");
    if (jsonBytes > MAX_INLINE_RESULT) return this.sendBigRequest(id, op, json, body);
    if (body === undefined) return this.write(encodeFrameJson(`{"id":${id},"op":${JSON.stringify(op)},"args":${json}}`));
    if (body instanceof Uint8Array) {
      if (body.length <= MAX_FRAME_BODY) return this.write(encodeFrame({ id, op, args }, body));
      body = [body];
    }
    return this.sendParts(id, op, { args }, body);
  }

  /** Streams a body: the request frame (with `fields`) carries the first part, `chunk` frames the rest. */
  private async sendParts(id: number, op: Op, fields: Record<string, unknown>, body: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<void> {
    let first = true;
    let held: Buffer | null = null; // one part of look-ahead, so the last frame says more: false
    const flush = async (part: Buffer, more: boolean): Promise<void> => {
      if (this.failure) throw this.failure;
      if (!this.pending.has(id)) throw new GuestError(GuestErrorCode.Cancelled, `${op} cancelled while sending its body`);
      if (first) {
        first = false;
        await this.write(encodeFrame({ id, op, ...fields, more }, part));
      } else await this.write(encodeFrame({ id, op: "chunk", more }, part));
    };
    for await (const chunk of body) {
      const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      for (let at = 0; at < buf.length; at += MAX_FRAME_BODY) {
        if (held) await flush(held, true);
        held = buf.subarray(at, at + MAX_FRAME_BODY);
      }
    }
    await flush(held ?? Buffer.alloc(0), false);
  }

  /** Arguments too big for a header (an edit of a big block) go first in the body (`argsBytes`). */
  private sendBigRequest(id: number, op: Op, json: string, body: RequestOptions["body"]): Promise<void> {
    const bytes = Buffer.from(json, "utf8");
    if (bytes.length > MAX_ARGS_BYTES) {
      throw new GuestError(GuestErrorCode.TooLarge, `${op}: arguments of ${bytes.length} bytes are more than the guest accepts (${MAX_ARGS_BYTES})`);
    }
    const parts = async function* (): AsyncGenerator<Uint8Array> {
      yield bytes;
      if (body instanceof Uint8Array) yield body;
      else if (body) yield* body as AsyncIterable<Uint8Array>;
    };
    return this.sendParts(id, op, { argsBytes: bytes.length }, parts());
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

  /** A frame of several whole files (`sizes`, from `part` on): handed on as one part each. */
  private dataOfParts(id: number, p: Pending, first: number | undefined, sizes: number[], body: Buffer): void {
    if (first === undefined || sizes.reduce((a, b) => a + b, 0) !== body.length) return this.refuse(id, p, `a ${p.op} sent parts whose sizes do not add up to its body`);
    let at = 0;
    for (let k = 0; k < sizes.length; k++) {
      const bytes = body.subarray(at, (at += sizes[k]!));
      if (p.onData) p.onData(bytes, { part: first + k });
      else if (this.count(id, p, bytes.length)) p.data.push({ bytes, part: first + k });
      else return; // over the cap: the request has failed
    }
  }

  private receive(chunk: Buffer): void {
    if (this.failure) return;
    try {
      this.decoder.feed(chunk);
      for (let frame = this.decoder.next(); frame; frame = this.decoder.next()) this.dispatch(checkEvent(frame.header), frame.body);
    } catch (err) {
      const e = GuestError.isInstance(err) ? err : new GuestError(GuestErrorCode.Protocol, `guest broke the framing: ${(err as Error).message}`, { cause: err });
      this.fail(e);
    }
  }

  private dispatch(event: EventHeader, body: Buffer): void {
    // id 0 belongs to the VMM driver's readiness handshake; unknown ids are stale or cancelled.
    const p = event.id === 0 ? undefined : this.pending.get(event.id);
    if (!p) return;
    const streams = OP_SCHEMAS[p.op].streams;
    switch (event.ev) {
      case "start":
        if (!streams.start) return this.refuse(event.id, p, `a ${p.op} does not start a process`);
        p.onStart?.(event.pid);
        return;
      case "data": {
        if (event.result) {
          p.resultParts.push(body);
          this.count(event.id, p, body.length);
          return;
        }
        const tagged = event.stream !== undefined ? "stream" : event.part !== undefined ? "part" : "bytes";
        if (streams.data !== tagged) return this.refuse(event.id, p, `a ${p.op} does not stream ${tagged === "bytes" ? "untagged bytes" : `data tagged by ${tagged}`}`);
        if (event.sizes) return this.dataOfParts(event.id, p, event.part, event.sizes, body);
        if (p.onData) {
          p.onData(body, { stream: event.stream, part: event.part });
          return;
        }
        if (this.count(event.id, p, body.length)) p.data.push({ bytes: body, stream: event.stream, part: event.part });
        return;
      }
      case "result": {
        // The last untagged data part may travel in the result frame's body.
        if (body.length) {
          if (streams.data !== "bytes") return this.refuse(event.id, p, `a ${p.op} result carries no bytes`);
          if (p.onData) p.onData(body, {});
          else if (this.count(event.id, p, body.length)) p.data.push({ bytes: body });
          else return;
        }
        this.pending.delete(event.id);
        try {
          let value = event.value;
          if (event.json !== undefined) value = parseResultJson(p.resultParts, event.json);
          else if (value === undefined) throw new Error("result without a value");
          p.resolve({ value: checkResult(p.op, value), data: p.data });
        } catch (err) {
          p.reject(GuestError.isInstance(err) ? err : new GuestError(GuestErrorCode.Protocol, `guest sent a malformed ${p.op} result: ${(err as Error).message}`, { cause: err }));
        }
        return;
      }
      case "error":
        this.pending.delete(event.id);
        p.reject(new GuestError(event.code, event.message));
        return;
      case "ready":
        return;
    }
  }

  /** Adds to what request `id` holds; past the cap it fails (and is cancelled): returns false. */
  private count(id: number, p: Pending, bytes: number): boolean {
    p.bytes += bytes;
    if (p.bytes <= this.maxResponseBytes) return true;
    this.drop(id, p, new GuestError(GuestErrorCode.TooLarge, `${p.op} response exceeds the host's cap of ${this.maxResponseBytes} bytes (maxResponseBytes)`));
    return false;
  }

  /** Request `id` got a frame its op never sends: it fails with `protocol` (the channel stays). */
  private refuse(id: number, p: Pending, why: string): void {
    this.drop(id, p, new GuestError(GuestErrorCode.Protocol, `guest broke the protocol: ${why}`));
  }

  private drop(id: number, p: Pending, err: GuestError): void {
    this.pending.delete(id);
    p.resultParts = [];
    p.data = [];
    p.reject(err);
    // Tell the guest; its late frames for this id are then ignored.
    void this.request("cancel", { target: id }).catch(() => {});
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

/** A frame header from the guest, checked (a malformed one ends the channel: `protocol`). */
function checkEvent(header: unknown): EventHeader {
  try {
    return eventHeader.parse(header, "frame");
  } catch (err) {
    if (!ProtocolError.isInstance(err, ProtocolErrorCode.BadValue)) throw err;
    throw new GuestError(GuestErrorCode.Protocol, `guest sent a malformed frame (${err.message}): ${JSON.stringify(header).slice(0, 200)}`);
  }
}

/** A result checked against its op's schema; only the declared fields are kept. */
function checkResult<O extends Op>(op: O, value: unknown): OpMap[O]["result"] {
  try {
    return OP_SCHEMAS[op].result.parse(value, "result") as OpMap[O]["result"];
  } catch (err) {
    if (!ProtocolError.isInstance(err, ProtocolErrorCode.BadValue)) throw err;
    throw new GuestError(GuestErrorCode.Protocol, `guest sent a malformed ${op} result (${err.message}): ${JSON.stringify(value).slice(0, 200)}`);
  }
}
