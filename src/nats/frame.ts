import { NatsBackboneError, NatsErrorCode } from "./errors.ts";

/**
 * The body of a state message: a small JSON header and raw byte parts, so serialized values are
 * stored as-is (no base64). Layout: u32 header length, header JSON, then for each part a u32
 * length and its bytes. The header lists nothing about the parts; their order is the contract.
 */
const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeFrame(header: unknown, parts: readonly Uint8Array[]): Uint8Array {
  const h = enc.encode(JSON.stringify(header));
  let size = 4 + h.length;
  for (const p of parts) size += 4 + p.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, h.length);
  out.set(h, 4);
  let off = 4 + h.length;
  for (const p of parts) {
    view.setUint32(off, p.length);
    out.set(p, off + 4);
    off += 4 + p.length;
  }
  return out;
}

export function decodeFrame<H>(data: Uint8Array): { header: H; parts: Uint8Array[] } {
  try {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const hlen = view.getUint32(0);
    const header = JSON.parse(dec.decode(data.subarray(4, 4 + hlen))) as H;
    const parts: Uint8Array[] = [];
    let off = 4 + hlen;
    while (off < data.length) {
      const len = view.getUint32(off);
      if (off + 4 + len > data.length) throw new RangeError("part overruns the frame");
      parts.push(data.subarray(off + 4, off + 4 + len));
      off += 4 + len;
    }
    return { header, parts };
  } catch (cause) {
    throw new NatsBackboneError(NatsErrorCode.Corrupt, "undecodable state message", { cause });
  }
}
