/**
 * The virtio-serial transport inside the VM. The port is a character device: `read()` returns EOF
 * while no host is connected and `write()` blocks until one connects. So the agent writes `ready`
 * (which waits for a host), reads until EOF, treats EOF as "host left", and starts over.
 */
import { readdir, readFile } from "node:fs/promises";
import { open } from "node:fs/promises";
import type { AgentContext } from "./context.ts";
import { Session, type Transport } from "./session.ts";

/** Finds `/dev/vportNpM` for the port QEMU named `name` (`-device virtserialport,name=...`). */
export async function findPort(name: string): Promise<string> {
  const dir = "/sys/class/virtio-ports";
  const ports = await readdir(dir).catch(() => [] as string[]);
  for (const port of ports) {
    const portName = (await readFile(`${dir}/${port}/name`, "utf8").catch(() => "")).trim();
    if (portName === name) return `/dev/${port}`;
  }
  throw new Error(`no virtio-serial port named ${JSON.stringify(name)} under ${dir} (found: ${ports.join(", ") || "none"})`);
}

export async function servePort(ctx: AgentContext, device: string): Promise<never> {
  const fh = await open(device, "r+");
  // Writes are serialised: frames must never interleave.
  let tail: Promise<void> = Promise.resolve();
  const write = (bytes: Buffer): Promise<void> => {
    const next = tail.then(async () => {
      let at = 0;
      while (at < bytes.length) at += (await fh.write(bytes, at, bytes.length - at)).bytesWritten;
    });
    tail = next.catch(() => {});
    return next;
  };
  let resumed: (() => void) | null = null;
  let paused = false;
  const transport: Transport = {
    write,
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
      resumed?.();
      resumed = null;
    },
  };
  const buf = Buffer.allocUnsafe(1024 * 1024);
  for (;;) {
    const session = new Session(ctx, transport);
    await session.sendReady(); // blocks until a host connects
    for (;;) {
      if (paused) await new Promise<void>((resolve) => (resumed = resolve));
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break; // host disconnected
      if (!session.receive(Buffer.from(buf.subarray(0, bytesRead)))) break;
    }
    session.close();
  }
}
