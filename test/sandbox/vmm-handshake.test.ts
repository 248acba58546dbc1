/**
 * The driver's readiness handshake over a real unix socket, with a scripted agent on the other
 * end: what it skips, what it leaves in the stream for the next reader, and how it fails.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeFrame, FrameDecoder } from "../../src/guest/framing.ts";
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

describe("agentHandshake", () => {
  it("sends hello as id 0, skips a stale ready frame, and leaves later frames in the stream", async () => {
    let request: Record<string, unknown> = {};
    onAgent = (agent, first) => {
      request = first;
      agent.write(
        Buffer.concat([
          encodeFrame({ id: 0, ev: "ready", protocolVersion: 1, agentVersion: "stale" }),
          encodeFrame({ id: 0, ev: "result", value: { protocolVersion: 1, agentVersion: "9.9.9" } }),
          encodeFrame({ id: 7, ev: "result", value: "after" }, Buffer.from("body")),
        ]),
      );
    };
    const host = await connectHost();
    const hello = await agentHandshake(host, "test");
    expect(hello).toEqual({ protocolVersion: 1, agentVersion: "9.9.9" });
    expect(request).toMatchObject({ id: 0, op: "hello", args: { protocolVersion: 1 } });
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

  it("fails with vm_exited when the port closes first", async () => {
    onAgent = (agent) => agent.destroy();
    const host = await connectHost();
    await expect(agentHandshake(host, "test")).rejects.toMatchObject({ code: "vm_exited" });
  });
});
