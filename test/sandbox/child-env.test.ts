/**
 * Children get only what they need: no secret of this process (wallet passphrase and key, owner
 * passphrase, model API keys, NATS credentials) reaches the environment of anything it spawns —
 * QEMU (under TCG the wall itself) and its guardian, nats-server, image-build tools.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { childEnv } from "../../src/config/child-env.ts";
import { startNatsServer, type NatsServer } from "../../src/nats/server.ts";
import { run } from "../../src/sandbox/image/run.ts";
import type { VmHandle } from "../../src/sandbox/vmm/driver.ts";
import { descendantEnvirons, environsHolding } from "../support/child-environ.ts";
import { acquireTestVm, closeTestPool, releaseTestVm } from "../support/vm.ts";

const SECRET_VARS = [
  "VIBEWRITER_WALLET_PASSPHRASE",
  "VIBEWRITER_WALLET_KEY",
  "VIBEWRITER_OWNER_PASSPHRASE",
  "ANTHROPIC_API_KEY",
  "OPENAI_API_KEY",
  "NATS_PASSWORD",
  "NATS_TOKEN",
  "NATS_USER",
  "NATS_CREDS",
] as const;

const tag = randomBytes(6).toString("hex");
const secrets: Record<string, string> = Object.fromEntries(SECRET_VARS.map((name) => [name, `leak-${name}-${tag}`]));
const secretValues = Object.values(secrets);
const saved = new Map<string, string | undefined>();

function setSecrets(): void {
  for (const [name, value] of Object.entries(secrets)) {
    saved.set(name, process.env[name]);
    process.env[name] = value;
  }
}

function restoreEnv(): void {
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  saved.clear();
}

describe("childEnv", () => {
  beforeEach(setSecrets);
  afterEach(restoreEnv);

  it("passes PATH, the C locale and the caller's extras, and no secret of this process", () => {
    const env = childEnv({ DEBIAN_FRONTEND: "noninteractive" });
    expect(env.PATH).toBe(process.env.PATH);
    expect(env.LC_ALL).toBe("C");
    expect(env.DEBIAN_FRONTEND).toBe("noninteractive");
    for (const name of SECRET_VARS) expect(env).not.toHaveProperty(name);
    expect(JSON.stringify(env)).not.toContain(tag);
    expect(env).not.toHaveProperty("HOME");
    for (const name of Object.keys(env)) expect(["PATH", "LANG", "LC_ALL", "TZ", "TMPDIR", "DEBIAN_FRONTEND"]).toContain(name);
  });

  it("gives a safe PATH when this process has none", () => {
    const path = process.env.PATH;
    delete process.env.PATH;
    try {
      expect(childEnv().PATH).toBe("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    } finally {
      process.env.PATH = path;
    }
  });

  it("an image-build tool sees only the minimal environment plus what its caller passes", async () => {
    const seen = (await run(["cat", "/proc/self/environ"], { extraEnv: { http_proxy: "http://proxy.invalid:3128" } }))
      .toString("utf8")
      .split("\0")
      .filter(Boolean);
    expect(seen).toContain("http_proxy=http://proxy.invalid:3128");
    expect(seen).toContain(`PATH=${process.env.PATH}`);
    expect(seen.join("\n")).not.toContain(tag);
  });
});

describe("the environment of every child process", () => {
  let nats: NatsServer | undefined;
  let vm: VmHandle | undefined;

  beforeAll(async () => {
    setSecrets(); // before anything is spawned: children take their environment at spawn time
    nats = await startNatsServer({ detached: true }); // as the embedded backbone server runs
    vm = await acquireTestVm();
  });

  afterAll(async () => {
    try {
      if (vm) await releaseTestVm(vm);
      await closeTestPool();
      await nats?.stop();
    } finally {
      restoreEnv();
    }
  });

  it("holds no secret in QEMU, its guardian, nats-server or anything else this process started", () => {
    const scanned = descendantEnvirons([process.pid, nats!.pid]);

    // The scan really saw the processes that matter (it cannot pass by reading nothing).
    const qemu = scanned.find((p) => p.pid === vm!.pid);
    expect(qemu, `QEMU (pid ${vm!.pid}) not among ${scanned.map((p) => `${p.pid}:${p.name}`).join(", ")}`).toBeDefined();
    expect(qemu!.name).toMatch(/^qemu-system/);
    expect(qemu!.environ.some((e) => e.startsWith("PATH="))).toBe(true);
    const server = scanned.find((p) => p.pid === nats!.pid);
    expect(server?.name).toBe("nats-server");
    if (process.getuid?.() === 0) {
      // A root host runs QEMU under a shell guardian (it drops its uid): that shell is scanned too.
      const guardian = scanned.find((p) => p.pid === qemu!.ppid);
      expect(guardian?.name).toBe("sh");
    }

    expect(environsHolding(scanned, secretValues)).toEqual([]);
  });

  it("the scan does find a secret in a child spawned with the whole environment", async () => {
    const leaky: ChildProcess = spawn("sleep", ["60"], { stdio: "ignore" }); // Node's default: process.env
    try {
      await once(leaky, "spawn"); // after exec: its environ is sleep's own
      const hits = environsHolding(descendantEnvirons([process.pid]), secretValues);
      expect(hits).toEqual([{ pid: leaky.pid, name: "sleep", entries: expect.arrayContaining([...SECRET_VARS]) }]);
    } finally {
      leaky.kill("SIGKILL");
      await once(leaky, "exit");
    }
  });
});
