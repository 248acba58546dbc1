/**
 * The guest's stream transport (the VM's port; a unix socket here): frames written one after
 * another leave in a few batched writes, whole and in order, and a write rejects once the host left.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, connect, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { streamTransport } from "../../src/guest/transport-socket.ts";

let dir: string;
let server: Server;
let agentSide: Socket;
let hostSide: Socket;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "vw-transport-"));
  const path = join(dir, "port.sock");
  const accepted = new Promise<Socket>((resolve) => {
    server = createServer(resolve);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  agentSide = connect(path);
  hostSide = await accepted;
});

afterEach(async () => {
  agentSide.destroy();
  hostSide.destroy();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

/** Counts the writes the socket hands to the OS (one per `_write`, one per batched `_writev`). */
function countWrites(socket: Socket): { count: number } {
  const seen = { count: 0 };
  const s = socket as unknown as { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };
  const write = s._write.bind(socket);
  const writev = s._writev.bind(socket);
  s._write = (...a) => {
    seen.count++;
    write(...a);
  };
  s._writev = (...a) => {
    seen.count++;
    writev(...a);
  };
  return seen;
}

it("sends 1,000 small frames written one after another in a few writes, whole and in order", async () => {
  const transport = streamTransport(agentSide);
  const writes = countWrites(agentSide);
  const frames = Array.from({ length: 1000 }, (_, i) => Buffer.from(`frame ${String(i).padStart(4, "0")} ${"x".repeat(100)}\n`));
  const expected = Buffer.concat(frames);
  const received: Buffer[] = [];
  let got = 0;
  const all = new Promise<void>((resolve) =>
    hostSide.on("data", (chunk: Buffer) => {
      received.push(chunk);
      got += chunk.length;
      if (got >= expected.length) resolve();
    }),
  );
  // As a download does: each part awaited before the next file is read.
  for (const f of frames) await transport.write(f);
  await all;
  expect(Buffer.concat(received).equals(expected)).toBe(true);
  // About 110 KB: batched up to the socket's high-water mark (16 KiB) rather than 1,000 writes.
  expect(writes.count).toBeLessThan(50);
});

it("a write rejects once the host has left", async () => {
  const transport = streamTransport(agentSide);
  await transport.write(Buffer.from("hello"));
  const closed = new Promise((resolve) => agentSide.once("close", resolve));
  hostSide.destroy();
  agentSide.destroy();
  await closed;
  await expect(transport.write(Buffer.from("late"))).rejects.toThrow("host disconnected");
});
