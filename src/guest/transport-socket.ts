/** Unix-socket transport for running the agent on the host in tests: one session per connection. */
import { connect, createServer, type Socket } from "node:net";
import type { AgentContext } from "./context.ts";
import { Session, type Transport } from "./session.ts";

/** A session's byte pipe over a stream socket (a unix socket here, the VM's port in transport-port.ts). */
export function streamTransport(socket: Socket): Transport {
  return {
    write: (bytes) =>
      new Promise<void>((resolve, reject) => {
        if (socket.destroyed) return reject(new Error("host disconnected"));
        // libuv writes at once when nothing is queued; resolving on flush gives back-pressure.
        socket.write(bytes, (err) => (err ? reject(err) : resolve()));
      }),
    pause: () => socket.pause(),
    resume: () => socket.resume(),
  };
}

function attach(ctx: AgentContext, socket: Socket): Session {
  const session = new Session(ctx, streamTransport(socket));
  socket.on("data", (chunk) => {
    if (!session.receive(chunk)) socket.destroy();
  });
  socket.on("close", () => session.close());
  socket.on("error", () => session.close());
  void session.sendReady().catch(() => {});
  return session;
}

/** Listens on `path`; resolves once listening. */
export function listenSocket(ctx: AgentContext, path: string): Promise<void> {
  const server = createServer((socket) => attach(ctx, socket));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve());
  });
}

/** Connects to a host listening on `path` (the way QEMU's chardev would be used by a guest). */
export function connectSocket(ctx: AgentContext, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(path, () => {
      attach(ctx, socket);
      resolve();
    });
    socket.once("error", reject);
  });
}
