import type { Duplex } from "node:stream";
import { encodeFrame, eventHeader, FrameDecoder, OP_SCHEMAS, PROTOCOL_VERSION, type HelloArgs } from "../../protocol/index.ts";
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
    const decoder = new FrameDecoder();
    const cleanup = () => {
      sock.pause();
      sock.off("data", onData);
      sock.off("close", onClose);
    };
    const fail = (message: string, cause?: unknown) => {
      cleanup();
      reject(new VmmError(VmmErrorCode.NotReady, `${label}: ${message}`, { cause }));
    };
    const onClose = () => {
      cleanup();
      reject(new VmmError(VmmErrorCode.VmExited, `${label}: the agent port closed before the agent was ready`));
    };
    const onData = (d: Buffer) => {
      decoder.feed(d);
      for (;;) {
        let event;
        try {
          const frame = decoder.next();
          if (!frame) return;
          event = eventHeader.parse(frame.header, "frame");
        } catch (err) {
          return fail(`the agent sent a malformed frame: ${(err as Error).message}`, err);
        }
        if (event.id !== HANDSHAKE_ID) continue;
        if (event.ev === "error") return fail(`the agent refused hello: ${event.message}`);
        // Only the hello's result proves the agent reads what we send: a `ready` frame can be
        // stale (a template snapshotted before its hello finished would keep id 0 busy).
        if (event.ev !== "result") continue;
        cleanup();
        const rest = decoder.rest();
        if (rest.length) sock.unshift(rest);
        let hello;
        try {
          hello = OP_SCHEMAS.hello.result.parse(event.value, "hello result");
        } catch (err) {
          return reject(new VmmError(VmmErrorCode.NotReady, `${label}: the agent's hello is malformed: ${(err as Error).message}`, { cause: err }));
        }
        return resolve({ protocolVersion: hello.protocolVersion, agentVersion: hello.agentVersion });
      }
    };
    sock.on("data", onData);
    sock.on("close", onClose);
    const args: HelloArgs = { nowMs: Date.now(), protocolVersion: PROTOCOL_VERSION };
    sock.write(encodeFrame({ id: HANDSHAKE_ID, op: "hello", args }));
  });
}
