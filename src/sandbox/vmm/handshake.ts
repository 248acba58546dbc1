import type { Duplex } from "node:stream";
import { PROTOCOL_VERSION } from "../../guest/protocol.ts";
import { VmmError, VmmErrorCode } from "./driver.ts";

/** Frames with request id 0 belong to the driver's readiness handshake (see driver.ts). */
export const HANDSHAKE_ID = 0;

/**
 * The driver's readiness handshake on a freshly connected agent stream, shared by every driver:
 * send `hello` as id 0, skip frames until its result, then pause the stream and put back any bytes
 * read past that frame, so the stream's next reader gets exactly what followed.
 */
export function agentHandshake(sock: Duplex, label: string): Promise<{ protocolVersion: number; agentVersion: string }> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    const cleanup = () => {
      sock.pause();
      sock.off("data", onData);
      sock.off("close", onClose);
    };
    const onClose = () => {
      cleanup();
      reject(new VmmError(VmmErrorCode.VmExited, `${label}: the agent port closed before the agent was ready`));
    };
    const onData = (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      for (;;) {
        if (buf.length < 8) return;
        const hl = buf.readUInt32BE(0);
        const bl = buf.readUInt32BE(4);
        if (buf.length < 8 + hl + bl) return;
        let header: Record<string, unknown>;
        try {
          header = JSON.parse(buf.subarray(8, 8 + hl).toString("utf8")) as Record<string, unknown>;
        } catch (err) {
          cleanup();
          return reject(new VmmError(VmmErrorCode.NotReady, `${label}: the agent sent a malformed frame`, { cause: err }));
        }
        buf = buf.subarray(8 + hl + bl);
        if (header.id !== HANDSHAKE_ID) continue;
        if (header.ev === "error") {
          cleanup();
          return reject(new VmmError(VmmErrorCode.NotReady, `${label}: the agent refused hello: ${String(header.message)}`));
        }
        // Only the hello's result proves the agent reads what we send: a `ready` frame can be
        // stale (a template snapshotted before its hello finished would keep id 0 busy).
        if (header.ev !== "result") continue;
        cleanup();
        if (buf.length) sock.unshift(buf);
        const value = (header.value ?? {}) as { protocolVersion?: unknown; agentVersion?: unknown };
        return resolve({ protocolVersion: Number(value.protocolVersion), agentVersion: String(value.agentVersion) });
      }
    };
    sock.on("data", onData);
    sock.on("close", onClose);
    const hello = Buffer.from(JSON.stringify({ id: HANDSHAKE_ID, op: "hello", args: { nowMs: Date.now(), protocolVersion: PROTOCOL_VERSION } }));
    const prefix = Buffer.alloc(8);
    prefix.writeUInt32BE(hello.length, 0);
    sock.write(Buffer.concat([prefix, hello]));
  });
}
