/** Unix-socket transport for running the agent on the host in tests: one session per connection. */
import { connect, createServer, type Socket } from "node:net";
import type { AgentContext } from "./context.ts";
import { Session, type Transport } from "./session.ts";

/**
 * A session's byte pipe over a stream socket (a unix socket here, the VM's port in
 * transport-port.ts). Frames written in one go — a download of many small files, a result cut into
 * data frames — leave in one writev when the writer next waits: each write to the VM's port is a
 * syscall and a virtqueue kick, which under TCG cost more than the frame. A write resolves once the
 * socket has taken the bytes; past the socket's high-water mark, once it has drained (the writer
 * waits, so memory stays bounded), and it rejects when the host leaves.
 */
export function streamTransport(socket: Socket): Transport {
  let corked = false;
  // One wait for 'drain' shared by every writer held back meanwhile.
  let drained: Promise<void> | null = null;
  const whenDrained = (): Promise<void> =>
    (drained ??= new Promise<void>((resolve, reject) => {
      const done = (err?: Error): void => {
        socket.off("drain", onDrain);
        socket.off("close", onClose);
        drained = null;
        if (err) reject(err);
        else resolve();
      };
      const onDrain = (): void => done();
      const onClose = (): void => done(new Error("host disconnected"));
      socket.once("drain", onDrain);
      socket.once("close", onClose);
    }));
  return {
    write: (bytes) => {
      if (socket.destroyed) return Promise.reject(new Error("host disconnected"));
      if (!corked) {
        corked = true;
        socket.cork();
        process.nextTick(() => {
          corked = false;
          socket.uncork();
        });
      }
      return socket.write(bytes) ? Promise.resolve() : whenDrained();
    },
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
