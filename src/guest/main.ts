/**
 * The guest agent's entry point. In the VM (run as root by init): serves the virtio-serial port
 * named `agent`. On a host, for tests:
 *   node agent.mjs --listen /path/to.sock --root-prefix /tmp/dir    (--socket is the same)
 *   node agent.mjs --connect /path/to.sock --root-prefix /tmp/dir
 * `--root-prefix DIR` maps every view root under DIR (e.g. /workspace → DIR/workspace).
 * In the VM the agent lowers its effective ids to the sandbox user's once the port is open; on a
 * host (tests) it keeps the ids it was started with.
 */
// Before any fs call starts libuv's pool: the port's blocking read and write each hold a thread.
process.env.UV_THREADPOOL_SIZE ??= "16";

import { chown, mkdir, realpath } from "node:fs/promises";
import { startClockHelper } from "./clock.ts";
import { createContext } from "./context.ts";
import { SANDBOX_GID, SANDBOX_UID, VIEW_ROOTS, type ViewRoot } from "../protocol/index.ts";
import { lowerPrivileges } from "./privileges.ts";
import { findPort, openPort, servePort } from "./transport-port.ts";
import { warmUp } from "./warm-up.ts";
import { connectSocket, listenSocket } from "./transport-socket.ts";

interface Options {
  listen?: string;
  connect?: string;
  port: string;
  rootPrefix: string;
}

function parseOptions(argv: string[]): Options {
  const opts: Options = { port: "agent", rootPrefix: "" };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    i++;
    if (flag === "--listen" || flag === "--socket") opts.listen = value;
    else if (flag === "--connect") opts.connect = value;
    else if (flag === "--port") opts.port = value;
    else if (flag === "--root-prefix") opts.rootPrefix = value.replace(/\/+$/, "");
    else throw new Error(`unknown option ${flag}`);
  }
  return opts;
}

/** Creates missing root directories and records their real paths (the confinement compares them). */
async function prepareRoots(prefix: string, isRoot: boolean): Promise<ViewRoot[]> {
  const roots: ViewRoot[] = [];
  for (const r of VIEW_ROOTS) {
    const real = prefix + r.real;
    const created = await mkdir(real, { recursive: true }).catch(() => undefined);
    if (created && isRoot && r.writable && r.path !== "/tmp") await chown(real, SANDBOX_UID, SANDBOX_GID).catch(() => {});
    roots.push({ path: r.path, real: await realpath(real).catch(() => real), writable: r.writable });
  }
  return roots;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const isRoot = process.getuid?.() === 0;
  const ctx = createContext(await prepareRoots(opts.rootPrefix, isRoot));
  if (opts.listen) await listenSocket(ctx, opts.listen);
  else if (opts.connect) await connectSocket(ctx, opts.connect);
  else {
    const device = await findPort(opts.port);
    const fd = openPort(device);
    if (ctx.sandboxUser) {
      ctx.clock = startClockHelper();
      // From here on file operations run as the sandbox user (see privileges.ts).
      ctx.privileges = lowerPrivileges(ctx.sandboxUser.uid, ctx.sandboxUser.gid);
    }
    const t = performance.now();
    await warmUp(ctx).catch((err) => process.stderr.write(`agent: warm-up failed: ${(err as Error).message}\n`));
    process.stderr.write(`agent: warmed up in ${Math.round(performance.now() - t)} ms\n`);
    await servePort(ctx, device, fd);
  }
  process.stderr.write(`agent: serving (pid ${process.pid})\n`);
}

// A bug in one request must not take the agent (and with it the sandbox) down.
process.on("uncaughtException", (err) => process.stderr.write(`agent: uncaught: ${err.stack ?? err}\n`));
process.on("unhandledRejection", (err) => process.stderr.write(`agent: unhandled: ${(err as Error)?.stack ?? err}\n`));

main().catch((err) => {
  process.stderr.write(`agent: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
