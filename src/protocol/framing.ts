/**
 * Binary-safe framing for the guest protocol, both directions.
 *
 * Frame layout (big-endian):
 *   u32 headerLength | u32 bodyLength | header (UTF-8 JSON object) | body (raw bytes)
 */
import { ProtocolErrorCode } from "./error-codes.ts";
import { ProtocolError } from "./errors.ts";
import { MAX_FRAME_BODY, MAX_FRAME_HEADER } from "./limits.ts";

export interface Frame<H = unknown> {
  header: H;
  body: Buffer;
}

const EMPTY = Buffer.alloc(0);

const frameError = (message: string, options?: { cause?: unknown }) => new ProtocolError(ProtocolErrorCode.BadFrame, message, options);

export function encodeFrame(header: unknown, body: Uint8Array = EMPTY): Buffer {
  return encodeFrameJson(JSON.stringify(header), body);
}

/** The same, with the header already serialised (the guest builds big result headers itself). */
export function encodeFrameJson(json: string, body: Uint8Array = EMPTY): Buffer {
  const jsonLength = Buffer.byteLength(json, "utf8");
  if (jsonLength > MAX_FRAME_HEADER) throw frameError(`frame header too large: ${jsonLength} bytes`);
  if (body.length > MAX_FRAME_BODY) throw frameError(`frame body too large: ${body.length} bytes`);
  // One buffer, written in place: fewer objects than prefix + json + concat (it shows in the guest).
  const frame = Buffer.allocUnsafe(8 + jsonLength + body.length);
  frame.writeUInt32BE(jsonLength, 0);
  frame.writeUInt32BE(body.length, 4);
  frame.write(json, 8, "utf8");
  if (body.length) frame.set(body, 8 + jsonLength);
  return frame;
}

/**
 * Incremental decoder: feed it chunks as they arrive, take whole frames out. It never holds more
 * than one frame's worth (MAX_FRAME_HEADER + MAX_FRAME_BODY) beyond what was fed. A malformed or
 * oversized frame throws a `bad_frame` ProtocolError; the channel is then unusable and must be closed.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** Feeds a chunk and returns every frame completed so far. */
  push(chunk: Buffer): Frame[] {
    this.feed(chunk);
    const frames: Frame[] = [];
    for (let f = this.next(); f; f = this.next()) frames.push(f);
    return frames;
  }

  feed(chunk: Buffer): void {
    if (!chunk.length) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next whole frame, or null until more bytes arrive. */
  next(): Frame | null {
    if (this.buffered < 8) return null;
    const head = this.peek(8);
    const headerLength = head.readUInt32BE(0);
    const bodyLength = head.readUInt32BE(4);
    if (headerLength > MAX_FRAME_HEADER || bodyLength > MAX_FRAME_BODY) {
      throw frameError(`oversized frame (header ${headerLength}, body ${bodyLength})`);
    }
    const total = 8 + headerLength + bodyLength;
    if (this.buffered < total) return null;
    const whole = this.take(total);
    let header: unknown;
    try {
      header = JSON.parse(whole.subarray(8, 8 + headerLength).toString("utf8"));
    } catch (err) {
      throw frameError("frame header is not JSON", { cause: err });
    }
    if (typeof header !== "object" || header === null || Array.isArray(header)) throw frameError("frame header is not an object");
    return { header, body: whole.subarray(8 + headerLength) };
  }

  /** The bytes fed but not decoded yet (for handing the stream on to another reader). */
  rest(): Buffer {
    const rest = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = [];
    this.buffered = 0;
    return rest;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length >= n) return this.chunks[0]!.subarray(0, n);
    const merged = Buffer.concat(this.chunks);
    this.chunks = [merged];
    return merged.subarray(0, n);
  }

  private take(n: number): Buffer {
    const merged = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const out = merged.subarray(0, n);
    const rest = merged.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return out;
  }
}
