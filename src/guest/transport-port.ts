/**
 * The virtio-serial transport inside the VM. The port is a character device: `read()` returns EOF
 * while no host is connected, `write()` blocks until one connects, and each read returns at most
 * one 4 KiB virtqueue buffer.
 *
 * Reading: a `cat` child process is given the port (the same open file: the port allows only one
 * open) as its stdin and copies it into a pipe that Node reads natively with large reads. Reading
 * the port through libuv's threadpool instead costs two thread switches per 4 KiB, which under TCG
 * held host→guest transfers to ~2 MiB/s. `cat` ends at EOF = the host disconnected.
 * Writing: straight to the port, synchronously (see writeAllSync); the first write of a session
 * (`ready`) blocks until a host is there.
 */
import { spawn } from "node:child_process";
import { openSync, readdirSync, readFileSync, writeSync } from "node:fs";
import type { AgentContext } from "./context.ts";
import { Session, type Transport } from "./session.ts";

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

export async function servePort(ctx: AgentContext, fd: number): Promise<never> {
  // Synchronous, so frames can never interleave.
  const writeFrame = (bytes: Buffer): Promise<void> => {
    try {
      writeAllSync(fd, bytes);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  };
  for (;;) {
    let reader: ReturnType<typeof spawn> | null = null;
    const transport: Transport = {
      write: writeFrame,
      pause: () => reader?.stdout?.pause(),
      resume: () => reader?.stdout?.resume(),
    };
    const session = new Session(ctx, transport);
    await session.sendReady(); // blocks until a host connects
    // As root: a reader started with the sandbox user's effective ids could be signalled by it.
    reader = ctx.privileges.asRoot(() => spawn("cat", [], { stdio: [fd, "pipe", "inherit"] }));
    const child = reader;
    await new Promise<void>((resolve) => {
      child.stdout!.on("data", (chunk: Buffer) => {
        // A malformed frame: drop this session; the next one starts with a fresh decoder.
        if (!session.receive(chunk)) child.kill("SIGKILL");
      });
      child.once("close", () => resolve());
      child.once("error", (err) => {
        process.stderr.write(`agent: cannot run cat to read the port: ${err.message}\n`);
        resolve();
      });
    });
    session.close(); // host disconnected (cat saw EOF): cancel what it asked for
  }
}
