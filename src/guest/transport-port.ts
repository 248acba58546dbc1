/**
 * The virtio-serial transport inside the VM. The port is a character device: `read()` returns EOF
 * while no host is connected, `write()` blocks until one connects, and each read returns at most
 * one 4 KiB virtqueue buffer. The port allows only one open.
 *
 * Each session starts with a blocking write of `ready` (it waits for a host). Then the port's
 * descriptor is handed to libuv as a non-blocking stream (the port supports poll), so requests
 * are read and replies written on the agent's own event loop: no thread, no helper process. Under
 * TCG that matters most: a switch to another process reloads CR3, which empties QEMU's software TLB
 * and its jump cache, and the agent then runs cold on every request. When the host leaves (EOF),
 * the descriptor is closed and the port opened again for the next session.
 *
 * Fallback, if this Node has no `pipe_wrap` binding: a `cat` child copies the port into a pipe
 * (reading the port through libuv's threadpool costs two thread switches per 4 KiB) and replies
 * are written synchronously.
 */
import { spawn } from "node:child_process";
import { openSync, readdirSync, readFileSync, readSync, writeSync } from "node:fs";
import { Socket } from "node:net";
import type { AgentContext } from "./context.ts";
import { Session, type Transport } from "./session.ts";
import { streamTransport } from "./transport-socket.ts";

/** Finds `/dev/vportNpM` for the port QEMU named `name` (`-device virtserialport,name=...`). */
export async function findPort(name: string): Promise<string> {
  const dir = "/sys/class/virtio-ports";
  let ports: string[] = [];
  try {
    ports = readdirSync(dir);
  } catch {
    // no virtio-serial device at all
  }
  for (const port of ports) {
    let portName = "";
    try {
      portName = readFileSync(`${dir}/${port}/name`, "utf8").trim();
    } catch {
      continue;
    }
    if (portName === name) return `/dev/${port}`;
  }
  throw new Error(`no virtio-serial port named ${JSON.stringify(name)} under ${dir} (found: ${ports.join(", ") || "none"})`);
}

/**
 * Writes are synchronous: a threadpool round trip per write costs more than the write itself
 * under TCG. A port write blocks only while no host is connected (or the host is not reading);
 * then the whole agent waits, which is right: its session is over and every command it ran was
 * killed when the host left, and the next frame (`ready`) is meant to wait for a host.
 */
function writeAllSync(fd: number, bytes: Buffer): void {
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
}

/** Opens the port (root only): before the agent lowers its privileges. */
export function openPort(device: string): number {
  return openSync(device, "r+");
}

/** libuv's pipe handle, from Node's internal binding (undefined if this Node has none). */
interface PipeHandle {
  open(fd: number): number;
}
type PipeCtor = new (type: number) => PipeHandle;

function pipeBinding(): { Pipe: PipeCtor; SOCKET: number } | null {
  try {
    const b = (process as unknown as { binding(name: string): { Pipe: PipeCtor; constants: { SOCKET: number } } }).binding("pipe_wrap");
    return typeof b.Pipe === "function" ? { Pipe: b.Pipe, SOCKET: b.constants.SOCKET } : null;
  } catch {
    return null;
  }
}

/** The port's descriptor as a non-blocking stream on the event loop, or null when not possible. */
function portStream(fd: number): Socket | null {
  const binding = pipeBinding();
  if (!binding) return null;
  const handle = new binding.Pipe(binding.SOCKET);
  if (handle.open(fd) !== 0) return null;
  return new Socket({ handle, readable: true, writable: true } as unknown as ConstructorParameters<typeof Socket>[0]);
}

/**
 * Serves sessions on the port forever. `device` is reopened (as root) after each session, since
 * closing the stream closes its descriptor.
 */
export async function servePort(ctx: AgentContext, device: string, firstFd: number): Promise<never> {
  let fd = firstFd;
  for (;;) {
    const session = new Session(ctx, { write: syncWriter(fd), pause() {}, resume() {} });
    await session.sendReady(); // blocks until a host connects
    const stream = portStream(fd);
    if (!stream) return serveThroughCat(ctx, fd, session);
    await serveStream(session, stream, fd);
    fd = ctx.privileges.asRoot(() => openPort(device));
  }
}

/** What one read of the port returns at most: one virtqueue buffer. */
const PORT_BUFFER = 4096;
const DRAIN_BYTES = 256 * 1024;

/**
 * After a full buffer, reads on synchronously until the port is empty (EAGAIN): libuv reads once
 * per wake-up and the stream hands each 4 KiB over as its own event, which under TCG held uploads
 * to ~4 MiB/s; this way a bulk transfer costs one event per 256 KiB.
 */
function drainPort(fd: number, first: Buffer): Buffer {
  const buf = Buffer.allocUnsafe(DRAIN_BYTES);
  first.copy(buf, 0);
  let n = first.length;
  while (n + PORT_BUFFER <= buf.length) {
    let got: number;
    try {
      got = readSync(fd, buf, n, buf.length - n, null);
    } catch {
      break; // EAGAIN: nothing more for now
    }
    if (got === 0) break; // the host left: the stream sees the EOF next
    n += got;
  }
  return buf.subarray(0, n);
}

/** One session on the port stream; resolves when the host has left and the stream is closed. */
function serveStream(session: Session, stream: Socket, fd: number): Promise<void> {
  session.setTransport(streamTransport(stream));
  return new Promise<void>((resolve) => {
    stream.on("data", (chunk: Buffer) => {
      if (!session.receive(chunk.length === PORT_BUFFER ? drainPort(fd, chunk) : chunk)) stream.destroy();
    });
    stream.on("end", () => stream.destroy());
    stream.on("error", () => stream.destroy());
    stream.once("close", () => {
      session.close(); // host disconnected: cancel what it asked for
      resolve();
    });
  });
}

function syncWriter(fd: number): (bytes: Buffer) => Promise<void> {
  return (bytes) => {
    try {
      writeAllSync(fd, bytes);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  };
}

/** The fallback: a `cat` child reads the port, replies are written synchronously. */
async function serveThroughCat(ctx: AgentContext, fd: number, first: Session): Promise<never> {
  let session: Session | null = first;
  for (;;) {
    let reader: ReturnType<typeof spawn> | null = null;
    const transport: Transport = {
      write: syncWriter(fd),
      pause: () => reader?.stdout?.pause(),
      resume: () => reader?.stdout?.resume(),
    };
    if (!session) {
      session = new Session(ctx, transport);
      await session.sendReady(); // blocks until a host connects
    } else session.setTransport(transport);
    const current = session;
    // As root: a reader started with the sandbox user's effective ids could be signalled by it.
    reader = ctx.privileges.asRoot(() => spawn("cat", [], { stdio: [fd, "pipe", "inherit"] }));
    const child = reader;
    await new Promise<void>((resolve) => {
      child.stdout!.on("data", (chunk: Buffer) => {
        // A malformed frame: drop this session; the next one starts with a fresh decoder.
        if (!current.receive(chunk)) child.kill("SIGKILL");
      });
      child.once("close", () => resolve());
      child.once("error", (err) => {
        process.stderr.write(`agent: cannot run cat to read the port: ${err.message}\n`);
        resolve();
      });
    });
    current.close(); // host disconnected (cat saw EOF): cancel what it asked for
    session = null;
  }
}
