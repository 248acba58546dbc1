/**
 * The driver's readiness handshake over a real unix socket, with a scripted agent on the other
 * end: what it skips, what it leaves in the stream for the next reader, and how it fails.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeFrame, FrameDecoder, PROTOCOL_VERSION } from "../../src/protocol/index.ts";
import { agentHandshake } from "../../src/sandbox/vmm/handshake.ts";

let dir: string;
let server: Server;
let onAgent: (agent: Socket, firstRequest: Record<string, unknown>) => void;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "vw-handshake-"));
  server = createServer((agent) => {
    const decoder = new FrameDecoder();
    let done = false;
    agent.on("data", (d: Buffer) => {
      for (const f of decoder.push(d)) {
        if (done) continue;
        done = true;
        onAgent(agent, f.header as Record<string, unknown>);
      }
    });
  });
  await new Promise<void>((r) => server.listen(join(dir, "agent.sock"), r));
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

function connectHost(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(join(dir, "agent.sock"), () => resolve(s));
    s.once("error", reject);
  });
}

/** A well-formed hello result (the handshake checks it with the protocol's schema). */
const HELLO = { protocolVersion: PROTOCOL_VERSION, agentVersion: "1", roots: [{ path: "/workspace", writable: true }], pid: 1, clockSet: false };

describe("agentHandshake", () => {
  it("sends hello as id 0, skips a stale ready frame, and leaves later frames in the stream", async () => {
    let request: Record<string, unknown> = {};
    onAgent = (agent, first) => {
      request = first;
      agent.write(
        Buffer.concat([
          encodeFrame({ id: 0, ev: "ready", protocolVersion: PROTOCOL_VERSION, agentVersion: "stale" }),
          encodeFrame({ id: 0, ev: "result", value: { ...HELLO, agentVersion: "9.9.9" } }),
          encodeFrame({ id: 7, ev: "result", value: "after" }, Buffer.from("body")),
        ]),
      );
    };
    const host = await connectHost();
    const hello = await agentHandshake(host, "test");
    expect(hello).toEqual({ protocolVersion: PROTOCOL_VERSION, agentVersion: "9.9.9" });
    expect(request).toMatchObject({ id: 0, op: "hello", args: { protocolVersion: PROTOCOL_VERSION } });
    expect(Math.abs(Date.now() - Number((request.args as { nowMs: number }).nowMs))).toBeLessThan(60_000);
    // The frame that followed is intact for the next reader.
    const decoder = new FrameDecoder();
    const next = await new Promise<{ header: unknown; body: Buffer }>((resolve) => {
      host.on("data", (d: Buffer) => {
        const frames = decoder.push(d);
        if (frames.length) resolve(frames[0]!);
      });
      host.resume();
    });
    expect(next.header).toEqual({ id: 7, ev: "result", value: "after" });
    expect(next.body.toString()).toBe("body");
    host.destroy();
  });

  it("fails with not_ready when the agent refuses hello", async () => {
    onAgent = (agent) => agent.write(encodeFrame({ id: 0, ev: "error", code: "bad_request", message: "nope" }));
    const host = await connectHost();
    await expect(agentHandshake(host, "test")).rejects.toMatchObject({ code: "not_ready", message: expect.stringContaining("nope") });
    host.destroy();
  });

  it("finds the hello's result when the frames arrive a byte at a time", async () => {
    onAgent = (agent) => {
      const bytes = Buffer.concat([encodeFrame({ id: 3, ev: "data" }, Buffer.from("stale")), encodeFrame({ id: 0, ev: "result", value: HELLO })]);
      const drip = (at: number): void => {
        if (at < bytes.length) agent.write(bytes.subarray(at, at + 1), () => drip(at + 1));
      };
      drip(0);
    };
    const host = await connectHost();
    expect(await agentHandshake(host, "test")).toEqual({ protocolVersion: PROTOCOL_VERSION, agentVersion: "1" });
    host.destroy();
  });

  it("fails with not_ready when the hello's result does not match the protocol", async () => {
    onAgent = (agent) => agent.write(encodeFrame({ id: 0, ev: "result", value: { protocolVersion: "two" } }));
    const host = await connectHost();
    await expect(agentHandshake(host, "test")).rejects.toMatchObject({ code: "not_ready", message: expect.stringContaining("hello result.protocolVersion must be an integer") });
    host.destroy();
  });

  it("fails with vm_exited when the port closes first", async () => {
    onAgent = (agent) => agent.destroy();
    const host = await connectHost();
    await expect(agentHandshake(host, "test")).rejects.toMatchObject({ code: "vm_exited" });
  });
});
