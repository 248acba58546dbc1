/**
 * Runs the real guest agent (bundled by esbuild, exactly what the VM gets) as a host process on a
 * unix socket, with its view roots under a temp dir. For the fast protocol tests.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildGuestAgent } from "../../src/sandbox/image/guest-agent-bundle.ts";
import { GuestClient } from "../../src/sandbox/guest-client.ts";
import type { SandboxVm } from "../../src/sandbox/sandbox-vm.ts";

export interface HostAgent {
  dir: string;
  /** Real directory behind a view root, e.g. real("/workspace/a.txt"). */
  real(view: string): string;
  socket: string;
  proc: ChildProcess;
  /** Agent's stderr so far. */
  stderr(): string;
  connect(): Promise<GuestClient>;
  /** The agent process seen as a VM (for MicroVMBackend): killing it is "the VM died". */
  vm: SandboxVm;
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
  const exited = new Promise<{ reason: string; code: number | null; signal: string | null }>((resolve) =>
    proc.once("exit", (code, signal) => resolve({ reason: "vmm_died", code, signal })),
  );
  const kill = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    return exited;
  };
  const openSocket = async () => {
    const s = connect(socket);
    await new Promise<void>((resolve, reject) => {
      s.once("connect", resolve);
      s.once("error", reject);
    });
    return s;
  };
  let channel: Promise<import("node:net").Socket> | null = null;
  return {
    vm: { id: `host-${proc.pid}`, exited, kill, channel: () => (channel ??= openSocket()) },
    dir,
    socket,
    proc,
    real: (view) => join(dir, "root", view === "/large_tool_results" || view.startsWith("/large_tool_results/") ? view.replace("/large_tool_results", "/workspace/.large_tool_results") : view),
    stderr: () => err,
    async connect() {
      const c = await GuestClient.connect(await openSocket());
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) c.close();
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
