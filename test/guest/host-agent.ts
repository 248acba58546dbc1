/**
 * Runs the real guest agent (bundled by esbuild, exactly what the VM gets) as a host process on a
 * unix socket, with its view roots under a temp dir. For the fast protocol tests.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildGuestAgent } from "../../src/guest/build.ts";
import { GuestClient } from "../../src/sandbox/guest-client.ts";

export interface HostAgent {
  dir: string;
  /** Real directory behind a view root, e.g. real("/workspace/a.txt"). */
  real(view: string): string;
  socket: string;
  proc: ChildProcess;
  /** Agent's stderr so far. */
  stderr(): string;
  connect(): Promise<GuestClient>;
  close(): Promise<void>;
}

let built: Promise<string> | null = null;

/** Builds the agent bundle once per test process. */
export function agentBundle(): Promise<string> {
  built ??= (async () => {
    const out = join(await mkdtemp(join(tmpdir(), "vw-agent-build-")), "agent.mjs");
    await buildGuestAgent(out);
    return out;
  })();
  return built;
}

export async function startHostAgent(): Promise<HostAgent> {
  const bundle = await agentBundle();
  const dir = await mkdtemp(join(tmpdir(), "vw-agent-"));
  const socket = join(dir, "agent.sock");
  const proc = spawn(process.execPath, [bundle, "--listen", socket, "--root-prefix", join(dir, "root")], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  proc.stderr!.on("data", (d) => (err += d));
  // Ready when the agent says it is serving (it prints after listen() resolved).
  await new Promise<void>((resolve, reject) => {
    const onData = (): void => {
      if (err.includes("agent: serving")) {
        proc.stderr!.off("data", onData);
        resolve();
      }
    };
    proc.stderr!.on("data", onData);
    proc.once("exit", (code) => reject(new Error(`agent exited with ${code}: ${err}`)));
  });
  const clients: GuestClient[] = [];
  return {
    dir,
    socket,
    proc,
    real: (view) => join(dir, "root", view === "/large_tool_results" || view.startsWith("/large_tool_results/") ? view.replace("/large_tool_results", "/workspace/.large_tool_results") : view),
    stderr: () => err,
    async connect() {
      const s = connect(socket);
      await new Promise<void>((resolve, reject) => {
        s.once("connect", resolve);
        s.once("error", reject);
      });
      const c = await GuestClient.connect(s);
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) c.close();
      if (proc.exitCode === null) {
        const exited = new Promise((resolve) => proc.once("exit", resolve));
        proc.kill("SIGKILL");
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
