import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { mkdtemp, mkdir, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { childEnv } from "../config/index.ts";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";

/** A `nats-server -js` child process on a loopback port. */
export interface NatsServer {
  /** `nats://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** JetStream store directory (`-sd`); survives `restart()`. */
  readonly storeDir: string;
  /** Pid of the current process (changes after `restart()`). */
  readonly pid: number;
  /** Graceful stop (SIGTERM); resolves once the process has exited. */
  stop(): Promise<void>;
  /** SIGKILL, for crash tests; resolves once the process has exited. */
  kill(): Promise<void>;
  /** Start again on the same port and store dir. */
  restart(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface StartNatsServerOptions {
  /** Store directory; a fresh temporary one (removed on stop) when omitted. */
  storeDir?: string;
  /** Client port; a free one chosen by the server when omitted. */
  port?: number;
  /** Binary to run (default `NATS_SERVER_BIN`, `nats-server` on PATH, or `/usr/sbin/nats-server`). */
  binary?: string;
  /** `binary` was just checked by `findNatsServer`: do not probe it again. */
  found?: boolean;
  /** Let the process outlive its parent (used by the embedded backbone server). */
  detached?: boolean;
  /** How long to wait for "Server is ready" (ms). */
  readyTimeoutMs?: number;
  /** Extra command-line flags, e.g. `["--user", "u", "--pass", "p"]`. */
  extraArgs?: string[];
  /**
   * A config file that enables JetStream itself (`jetstream { store_dir }`): passed with `-c`
   * instead of `-js -sd`, so that a reload (SIGHUP) finds the same JetStream settings.
   */
  configFile?: string;
}

const READY_LINE = "Server is ready";
const LISTEN_RE = /Listening for client connections on [^\s:]+:(\d+)/;

/** `nats-server --version`: whether the binary runs, and what it says. */
function probeBinary(bin: string): { ok: boolean; stdout: string; error?: Error } {
  const r = spawnSync(bin, ["--version"], { env: childEnv(), encoding: "utf8" });
  return { ok: !r.error && r.status === 0, stdout: r.stdout ?? "", ...(r.error ? { error: r.error } : {}) };
}

/**
 * The nats-server to run: `NATS_SERVER_BIN`, else `nats-server` on PATH, else Debian's
 * `/usr/sbin/nats-server` (not on an ordinary user's PATH).
 */
export function defaultNatsServerBinary(): string {
  if (process.env.NATS_SERVER_BIN) return process.env.NATS_SERVER_BIN;
  const dirs = [...(process.env.PATH ?? "").split(":").filter(Boolean), "/usr/sbin", "/usr/local/sbin", "/sbin"];
  for (const dir of dirs) {
    const candidate = join(dir, "nats-server");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return "nats-server";
}

/**
 * The nats-server binary that runs, and its version ("2.9.10"; undefined when it prints none).
 * Throws `ServerMissing` with the install hint when there is none.
 */
export function findNatsServer(binary?: string): { binary: string; version: string | undefined } {
  const bin = binary ?? defaultNatsServerBinary();
  const probe = probeBinary(bin);
  if (!probe.ok) {
    throw new NatsBackboneError(
      NatsErrorCode.ServerMissing,
      `nats-server not found (tried "${bin}"). Install it with \`sudo apt-get install nats-server\` ` +
        `(Debian/Ubuntu) or run scripts/setup.sh, or set NATS_URL to use an existing server.`,
      { cause: probe.error },
    );
  }
  return { binary: bin, version: /v?(\d+\.\d+\.\d+)/.exec(probe.stdout)?.[1] };
}

/** Version string of the installed nats-server, e.g. "2.9.10", or undefined when missing. */
export function natsServerVersion(binary?: string): string | undefined {
  try {
    return findNatsServer(binary).version;
  } catch {
    return undefined;
  }
}

/**
 * First nats-server release whose JetStream accepts `sync_interval: always` (fsync each write before
 * acknowledging it). Older servers fsync on a timer only (every 2 minutes) and refuse the key.
 */
export const SYNC_ALWAYS_SINCE = "2.10.0";

/** Whether a nats-server of `version` (e.g. "2.10.27") accepts `sync_interval: always`; false when unknown. */
export function supportsSyncAlways(version: string | undefined): boolean {
  return version !== undefined && versionAtLeast(version, SYNC_ALWAYS_SINCE);
}

/** "2.10.27" ≥ "2.10.0"; false when either does not parse as major.minor.patch. */
export function versionAtLeast(version: string, minimum: string): boolean {
  const parse = (v: string) => /^v?(\d+)\.(\d+)\.(\d+)/.exec(v)?.slice(1, 4).map(Number);
  const v = parse(version);
  const min = parse(minimum);
  if (!v || !min) return false;
  for (let i = 0; i < 3; i++) if (v[i] !== min[i]) return v[i]! > min[i]!;
  return true;
}

/**
 * Launch `nats-server -js` on 127.0.0.1. Output goes to `<storeDir>/nats-server.log` (not a pipe:
 * a detached server must not die of SIGPIPE when its parent goes away); readiness is the server's
 * own "Server is ready" log line, raced against an early exit.
 */
export async function startNatsServer(opts: StartNatsServerOptions = {}): Promise<NatsServer> {
  // One blocking probe before the spawn is enough: a caller that just found the binary says so.
  const bin = opts.found ? opts.binary! : findNatsServer(opts.binary).binary;
  const ownsDir = opts.storeDir === undefined;
  const storeDir = opts.storeDir ?? (await mkdtemp(join(tmpdir(), "vibewriter-nats-")));
  await mkdir(storeDir, { recursive: true });
  const logFile = join(storeDir, "nats-server.log");
  const timeout = opts.readyTimeoutMs ?? 30_000;

  let port = opts.port ?? -1;
  let child: ChildProcess;
  let exited: Promise<void>;

  const launch = async (): Promise<void> => {
    const log = await open(logFile, "a");
    const offset = (await log.stat()).size;
    const js = opts.configFile ? ["-c", opts.configFile] : ["-js", "-sd", storeDir];
    const args = [...js, "-a", "127.0.0.1", "-p", String(port), "-l", logFile, ...(opts.extraArgs ?? [])];
    const proc = spawn(bin, args, {
      env: childEnv(),
      stdio: ["ignore", "ignore", "ignore"],
      detached: opts.detached ?? false,
    });
    await log.close();
    let exitInfo: string | undefined;
    exited = new Promise<void>((resolve) => {
      proc.once("exit", (code, signal) => {
        exitInfo = `exit code ${code ?? "none"}, signal ${signal ?? "none"}`;
        resolve();
      });
      proc.once("error", (err) => {
        exitInfo = String(err);
        resolve();
      });
    });
    if (opts.detached) proc.unref();
    child = proc;
    try {
      port = await waitReady(logFile, offset, () => exitInfo, timeout);
    } catch (err) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await exited;
      throw err;
    }
  };

  await launch();

  const waitExit = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // A detached server is unref'd; while we wait for its exit it must hold the event loop, or
    // Node would find nothing left to do and exit mid-await (code 13).
    child.ref();
    child.kill(signal);
    await exited;
  };

  let stopped = false;
  const server: NatsServer = {
    get url() {
      return `nats://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    storeDir,
    get pid() {
      return child.pid ?? -1;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await waitExit("SIGTERM");
      if (ownsDir) await rm(storeDir, { recursive: true, force: true });
    },
    async kill() {
      await waitExit("SIGKILL");
    },
    async restart() {
      await waitExit("SIGTERM");
      stopped = false;
      await launch();
    },
    async [Symbol.asyncDispose]() {
      await server.stop();
    },
  };
  return server;
}

/** Poll the log file (from `offset`) until the ready line appears; returns the client port. */
async function waitReady(
  logFile: string,
  offset: number,
  exitInfo: () => string | undefined,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let text = "";
  const fh = await open(logFile, "r");
  try {
    let pos = offset;
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead > 0) {
        pos += bytesRead;
        text += buf.subarray(0, bytesRead).toString("utf8");
        if (text.includes(READY_LINE)) {
          const m = LISTEN_RE.exec(text);
          if (!m) break;
          return Number(m[1]);
        }
        continue;
      }
      const info = exitInfo();
      if (info !== undefined) {
        throw new NatsBackboneError(
          NatsErrorCode.ServerStart,
          `nats-server exited before it was ready (${info}):\n${text.slice(-2000)}`,
        );
      }
      if (Date.now() > deadline) break;
      // Readiness poll of the server's own log (as nats.js's test launcher polls its ports file).
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    await fh.close();
  }
  throw new NatsBackboneError(
    NatsErrorCode.ServerStart,
    `nats-server did not report "${READY_LINE}" within ${timeoutMs} ms:\n${text.slice(-2000)}`,
  );
}
