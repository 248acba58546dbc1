/**
 * SandboxPool against real VMs restored from the template snapshot: acquire from a warm pool,
 * refill, one VM per acquirer (never reused), close kills everything, and no QEMU outlives a host
 * process that dies without cleaning up.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { GuestClient } from "../../src/sandbox/guest-client.ts";
import { DEFAULT_SHAPE, SandboxPool } from "../../src/sandbox/pool.ts";
import { pruneStaleTemplates, templateKey } from "../../src/sandbox/snapshot.ts";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VmExitReason, type VmHandle } from "../../src/sandbox/vmm/driver.ts";
import { getTestDriver, getTestImage } from "../support/vm.ts";

async function sh(vm: VmHandle, shell: string): Promise<string> {
  const client = await GuestClient.connect(await vm.channel());
  try {
    return (await client.exec({ shell, timeoutMs: 30_000 })).output.toString("utf8");
  } finally {
    client.close();
  }
}

/** Resolves once `pid` is gone (QEMU is reaped by its parent; here we only watch /proc). */
async function gone(pid: number, timeoutMs = 20_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      if (stat.split(") ")[1]?.startsWith("Z")) return true; // zombie: dead, awaiting its reaper
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

describe("SandboxPool", () => {
  let pool: SandboxPool;
  beforeAll(async () => {
    pool = new SandboxPool({ driver: getTestDriver(), image: await getTestImage(), size: 2 });
    await pool.filled();
  });
  afterAll(async () => {
    await pool?.close();
  });

  it("hands out ready VMs from the warm pool and refills", async () => {
    expect(pool.stats().idle).toBe(2);
    const a = await pool.acquire();
    const b = await pool.acquire();
    expect(a.id).not.toBe(b.id);
    expect(a.pid).not.toBe(b.pid);
    expect(pool.stats().handedOut).toBe(2);
    // Each is answering and isolated: a file written in one is not in the other.
    expect(await sh(a, "echo secret > /workspace/a && cat /workspace/a")).toBe("secret\n");
    expect(await sh(b, "cat /workspace/a 2>&1 || echo absent")).toContain("absent");
    await pool.filled();
    expect(pool.stats().idle).toBe(2);
    await pool.release(a);
    await pool.release(b);
    expect((await a.exited).reason).toBe(VmExitReason.Killed);
    expect((await b.exited).reason).toBe(VmExitReason.Killed);
    expect(pool.stats().handedOut).toBe(0);
  });

  it("never hands the same VM out twice", async () => {
    const seen = new Set<string>();
    const vms = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
    for (const vm of vms) seen.add(vm.id);
    expect(seen.size).toBe(3);
    await Promise.all(vms.map((vm) => pool.release(vm)));
    const next = await pool.acquire();
    expect(seen.has(next.id)).toBe(false);
    await pool.release(next);
  });

  it("replaces an idle VM that dies", async () => {
    await pool.filled();
    const before = pool.stats().restored;
    const victim = getTestDriver().running().find((vm) => vm.pid > 0)!;
    process.kill(victim.pid, "SIGKILL");
    await victim.exited;
    await pool.filled();
    expect(pool.stats().restored).toBeGreaterThan(before);
  });

  it("close() kills handed-out and idle VMs alike", async () => {
    const own = new SandboxPool({ driver: getTestDriver(), image: await getTestImage(), size: 1 });
    const held = await own.acquire();
    await own.filled();
    const pids = getTestDriver()
      .running()
      .map((vm) => vm.pid);
    await own.close();
    expect((await held.exited).reason).toBe(VmExitReason.Killed);
    await expect(own.acquire()).rejects.toThrow(/closed/);
    expect(pids).toContain(held.pid);
    expect(await gone(held.pid)).toBe(true);
  });

  it("with no spares (a single run), restores exactly the VMs asked for: one prewarmed, then one per acquire", async () => {
    const single = new SandboxPool({ driver: getTestDriver(), image: await getTestImage(), size: 0 });
    try {
      single.prewarm(1);
      await single.start();
      // The restore began before anyone asked for the VM.
      expect(single.stats()).toMatchObject({ starting: 1, handedOut: 0 });
      const first = await single.acquire();
      expect(await sh(first, "echo up")).toBe("up\n");
      // It was the prewarmed VM, and no spare is restored behind it.
      expect(single.stats()).toEqual({ idle: 0, starting: 0, handedOut: 1, restored: 1, failed: 0 });
      // Without a prewarm (a replacement VM), an acquire restores exactly one.
      const second = await single.acquire();
      expect(second.id).not.toBe(first.id);
      expect(single.stats()).toEqual({ idle: 0, starting: 0, handedOut: 2, restored: 2, failed: 0 });
    } finally {
      await single.close();
    }
  });

  it("leaves no QEMU behind when the host process is killed", async () => {
    const script = fileURLToPath(new URL("./pool-orphan-child.ts", import.meta.url));
    const child = spawn(process.execPath, ["--import", "tsx", script], { stdio: ["ignore", "pipe", "inherit"] });
    const pid = await new Promise<number>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /qemu-pid (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.on("exit", (code) => reject(new Error(`child exited early (${code})`)));
    });
    expect(await gone(pid, 100)).toBe(false); // the VM is running
    child.kill("SIGKILL");
    expect(await gone(pid)).toBe(true);
  });

  it("keys templates by image, QEMU build, accelerator and VM shape", async () => {
    const driver = getTestDriver();
    const image = await getTestImage();
    const base = await templateKey(driver, image, DEFAULT_SHAPE, "tcg");
    expect(await templateKey(driver, image, { ...DEFAULT_SHAPE }, "tcg")).toBe(base);
    expect(await templateKey(driver, { ...image, hash: "another-image" }, DEFAULT_SHAPE, "tcg")).not.toBe(base);
    expect(await templateKey(driver, image, DEFAULT_SHAPE, "kvm")).not.toBe(base);
    expect(await templateKey(driver, image, { ...DEFAULT_SHAPE, memoryMiB: 1024 }, "tcg")).not.toBe(base);
    expect(await templateKey(driver, image, { ...DEFAULT_SHAPE, network: true }, "tcg")).not.toBe(base);
    const otherQemu = { ...driver, name: driver.name, version: async () => "QEMU emulator version 9.9.9", accel: driver.accel, start: driver.start };
    expect(await templateKey(otherQemu, image, DEFAULT_SHAPE, "tcg")).not.toBe(base);
    expect(pool.snapshot?.dir).toContain(`${image.dir}/templates/`);
  });

  it("drops templates written by another version of the same driver", async () => {
    const root = mkdtempSync(join(tmpdir(), "vw-templates-"));
    try {
      const make = (name: string, driver: string, driverVersion: string) => {
        const dir = join(root, name);
        mkdirSync(dir);
        writeFileSync(join(dir, "memory"), "");
        writeFileSync(join(dir, "state"), "");
        const snap = { dir, driver, driverVersion, spec: { ...DEFAULT_SHAPE, imageHash: "h" }, memoryFile: join(dir, "memory"), stateFile: join(dir, "state") };
        writeFileSync(join(dir, "snapshot.json"), JSON.stringify(snap));
        return snap;
      };
      const current = make("current", "qemu-microvm", "v2");
      make("old", "qemu-microvm", "v1");
      make("other-shape", "qemu-microvm", "v2");
      make("firecracker", "firecracker", "v1");
      expect(await pruneStaleTemplates(root, current)).toEqual([join(root, "old")]);
      expect(["current", "other-shape", "firecracker"].every((d) => existsSync(join(root, d)))).toBe(true);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("rejects a bad size", () => {
    expect(() => new SandboxPool({ size: -1 })).toThrow(/pool size/);
  });
});
