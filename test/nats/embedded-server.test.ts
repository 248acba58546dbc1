import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { openBackbone } from "../../src/nats/backbone.ts";
import { natsServerVersion } from "../../src/nats/server.ts";
import { processRunning } from "../../src/config/proc-stat.ts";

const HOLDER = fileURLToPath(new URL("./fixtures/backbone-holder.ts", import.meta.url));

/** A Vibewriter process holding a backbone (fixtures/backbone-holder.ts), driven line by line. */
class Holder {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  readonly #lines: AsyncIterator<string>;
  stderr = "";

  constructor(stateDir: string) {
    this.child = spawn(process.execPath, ["--import", "tsx", HOLDER, stateDir], { stdio: ["pipe", "pipe", "pipe"] });
    this.child.stderr!.on("data", (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => this.child.once("exit", (code) => resolve(code)));
    this.#lines = createInterface({ input: this.child.stdout! })[Symbol.asyncIterator]();
  }

  static async open(stateDir: string): Promise<{ holder: Holder; started: boolean }> {
    const holder = new Holder(stateDir);
    const first = await holder.#next();
    return { holder, started: (JSON.parse(first) as { started: boolean }).started };
  }

  async #next(): Promise<string> {
    const r = await this.#lines.next();
    if (r.done) throw new Error(`holder ${this.child.pid} ended early (exit ${await this.exited}):\n${this.stderr}`);
    return r.value;
  }

  async put(name: string): Promise<void> {
    this.child.stdin!.write(`put ${name}\n`);
    expect(await this.#next()).toBe("ok");
  }

  /** Close the backbone; resolves with the process's exit code. */
  async close(): Promise<number | null> {
    this.child.stdin!.write("close\n");
    expect(await this.#next()).toBe("closed");
    return this.exited;
  }

  async crash(): Promise<void> {
    this.child.kill("SIGKILL");
    await this.exited;
  }
}

describe("embedded nats-server shared by several processes", () => {
  let dir: string;
  const holders: Holder[] = [];
  const serverPid = () => (JSON.parse(readFileSync(join(dir, "nats", "server.json"), "utf8")) as { pid: number }).pid;
  const open = async () => {
    const h = await Holder.open(dir);
    holders.push(h.holder);
    return h;
  };

  beforeAll(() => {
    if (!natsServerVersion()) throw new Error("nats-server is missing: sudo apt-get install nats-server");
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "vibewriter-shared-"));
  });
  afterEach(async () => {
    for (const h of holders.splice(0)) if (h.child.exitCode === null && h.child.signalCode === null) await h.crash();
    if (existsSync(join(dir, "nats", "server.json"))) {
      const pid = serverPid();
      if (processRunning(pid)) process.kill(pid, "SIGKILL");
    }
    await rm(dir, { recursive: true, force: true });
  });

  it("the starter leaving first does not stop the server under another process; the last one out stops it", async () => {
    const a = await open();
    const b = await open();
    expect([a.started, b.started]).toEqual([true, false]);
    const pid = serverPid();
    // Exit code 0: Node ran the close to its end (no "unsettled top-level await", code 13).
    expect(await a.holder.close()).toBe(0);
    expect(processRunning(pid)).toBe(true);
    await b.holder.put("after-starter-left");
    expect(await b.holder.close()).toBe(0);
    expect(processRunning(pid)).toBe(false);
    expect(existsSync(join(dir, "nats", "server.json"))).toBe(false);
    expect(readdirSync(join(dir, "nats", "leases"))).toEqual([]);
  });

  it("a crashed starter's server is stopped by the last live process", async () => {
    const a = await open();
    const b = await open();
    expect(a.started).toBe(true);
    const pid = serverPid();
    await a.holder.crash();
    await b.holder.put("after-starter-crashed");
    expect(await b.holder.close()).toBe(0);
    expect(processRunning(pid)).toBe(false);
  });

  it("a crashed joiner's lease does not keep the server alive", async () => {
    const a = await open();
    const b = await open();
    expect(b.started).toBe(false);
    const pid = serverPid();
    await b.holder.crash();
    expect(await a.holder.close()).toBe(0);
    expect(processRunning(pid)).toBe(false);
  });

  it("a server orphaned by a crash is reused by the next process and stopped when it leaves", async () => {
    const a = await open();
    const pid = serverPid();
    await a.holder.crash();
    expect(processRunning(pid)).toBe(true);
    const b = await openBackbone({ stateDir: dir, env: {} });
    expect(b.server).toBeUndefined();
    expect(serverPid()).toBe(pid);
    await b.artifacts.put("sources/y", "reused");
    await b.close();
    expect(processRunning(pid)).toBe(false);
    expect(existsSync(join(dir, "nats", "server.json"))).toBe(false);
  });

  it("a lock and a lease left by a crashed process are taken over and ignored", async () => {
    const dead = spawnSync(process.execPath, ["-e", ""]).pid!;
    await mkdir(join(dir, "nats", "leases"), { recursive: true });
    await writeFile(join(dir, "nats", "server.lock"), String(dead));
    await writeFile(join(dir, "nats", "leases", `${dead}.x`), JSON.stringify({ pid: dead }));
    const b = await openBackbone({ stateDir: dir, env: {} });
    const pid = b.server!.pid;
    expect(existsSync(join(dir, "nats", "server.lock"))).toBe(false);
    await b.close();
    expect(processRunning(pid)).toBe(false);
    expect(readdirSync(join(dir, "nats", "leases"))).toEqual([]);
  });

  it("a process closing while another opens leaves one server running for the opener", async () => {
    const a = await open();
    const pid = serverPid();
    // Close and open race; the lock orders them: either the opener joined first (same server) or
    // the server was stopped and the opener started a fresh one. Never an opener without a server.
    const [code, b] = await Promise.all([a.holder.close(), open()]);
    expect(code).toBe(0);
    await b.holder.put("raced");
    const now = serverPid();
    expect(processRunning(now)).toBe(true);
    expect(b.started).toBe(now !== pid);
    expect(await b.holder.close()).toBe(0);
    expect(processRunning(now)).toBe(false);
  });
});
