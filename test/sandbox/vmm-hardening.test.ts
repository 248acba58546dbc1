/**
 * The QEMU process holds as little power as possible (under TCG it is the only wall between a
 * guest and the host): seccomp on, no spawning, an unprivileged uid and a chroot when the host is
 * root, and a template RAM file that clones cannot change.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GuestClient } from "../../src/sandbox/guest-client.ts";
import { qemuArgs, type QemuRelease } from "../../src/sandbox/vmm/qemu-args.ts";
import { exitFromGuardian, resolveVmUser, sandboxArg, VM_USER } from "../../src/sandbox/vmm/qemu-privileges.ts";
import type { VmHandle, VmSpec } from "../../src/sandbox/vmm/driver.ts";
import { acquireTestVm, closeTestPool, COLD_BOOT_MS, getTestDriver, getTestImage, getTestPool } from "../support/vm.ts";

/** The release these argument checks are written for (qemu-args.test.ts covers the others). */
const QEMU_7_2: QemuRelease = { major: 7, minor: 2 };

const isRoot = process.getuid?.() === 0;

async function sh(vm: VmHandle, shell: string): Promise<{ exitCode: number | null; out: string }> {
  const client = await GuestClient.connect(await vm.channel());
  try {
    const r = await client.exec({ shell, timeoutMs: 60_000 });
    return { exitCode: r.exitCode, out: r.output.toString("utf8") };
  } finally {
    client.close();
  }
}

function statusOf(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, "utf8").split("\n")) {
    const i = line.indexOf(":");
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

function sha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(path, { highWaterMark: 4 << 20 })
      .on("data", (d) => h.update(d))
      .on("error", reject)
      .on("end", () => resolve(h.digest("hex")));
  });
}

afterAll(async () => {
  await closeTestPool();
});

describe("qemu hardening arguments", () => {
  const image = { hash: "h", dir: "/i", kernel: "/i/vmlinux", initrd: "/i/initrd.cpio", rootfs: "/i/rootfs.ext4", cmdline: "quiet" };
  const spec: VmSpec = { image, memoryMiB: 300, vcpus: 1, workspaceMiB: 40, network: false };
  const paths = { agentSocket: "/r/a.sock", qmpSocket: "/r/q.sock", console: "/r/c.log", pidFile: "/r/p" };

  it("always turns seccomp on with spawning denied; drops uid and chroots only when asked", () => {
    const plain = qemuArgs(spec, paths, "tcg", 32, QEMU_7_2);
    expect(plain[plain.indexOf("-sandbox") + 1]).toBe("on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
    expect(plain).not.toContain("-runas");
    expect(plain).not.toContain("-chroot");
    const dropped = qemuArgs(spec, { ...paths, runAs: "vibewriter-vm", chroot: "/r" }, "tcg", 32, QEMU_7_2);
    expect(dropped[dropped.indexOf("-runas") + 1]).toBe("vibewriter-vm");
    expect(dropped[dropped.indexOf("-chroot") + 1]).toBe("/r");
    // QEMU's own setuid runs after the filter is installed, so set*id stays allowed there.
    expect(dropped[dropped.indexOf("-sandbox") + 1]).toBe(sandboxArg(true));
    expect(sandboxArg(true)).toContain("spawn=deny");
  });

  it("turns the guardian's 128+n exit status back into the signal", () => {
    expect(exitFromGuardian(137, null)).toEqual({ code: null, signal: "SIGKILL" });
    expect(exitFromGuardian(143, null)).toEqual({ code: null, signal: "SIGTERM" });
    expect(exitFromGuardian(0, null)).toEqual({ code: 0, signal: null });
    expect(exitFromGuardian(1, null)).toEqual({ code: 1, signal: null });
    expect(exitFromGuardian(null, "SIGKILL")).toEqual({ code: null, signal: "SIGKILL" });
  });

  it("falls back to nobody with a warning when the VM user is missing (root only)", () => {
    const warnings: string[] = [];
    const user = resolveVmUser("vw-no-such-user", (l) => warnings.push(l));
    if (!isRoot) {
      expect(user).toBeNull();
      return;
    }
    expect(user?.name).toBe("nobody");
    expect(warnings.join("\n")).toMatch(/vw-no-such-user is missing.*nobody/);
  });
});

describe("a restored QEMU holds little power", () => {
  it("runs under seccomp, unprivileged and chrooted (when the host is root), and still answers", async () => {
    const vm = await acquireTestVm();
    try {
      const st = statusOf(vm.pid);
      expect(readFileSync(`/proc/${vm.pid}/comm`, "utf8").trim()).toMatch(/^qemu-system/);
      expect(st.Seccomp).toBe("2");
      expect(st.NoNewPrivs).toBe("1");
      const cmdline = readFileSync(`/proc/${vm.pid}/cmdline`, "utf8").split("\0");
      expect(cmdline[cmdline.indexOf("-sandbox") + 1]).toContain("spawn=deny");
      if (isRoot) {
        const user = getTestDriver().vmUser()!;
        expect(user.name).toBe(VM_USER); // setup.sh creates it
        expect(st.Uid!.split(/\s+/)).toEqual(Array(4).fill(String(user.uid)));
        expect(st.Gid!.split(/\s+/)).toEqual(Array(4).fill(String(user.gid)));
        expect(st.Uid!.split(/\s+/)).not.toContain("0");
        expect(st.CapEff).toBe("0000000000000000");
        // Chrooted into its own run folder, which holds only its sockets and logs.
        expect(readlinkSync(`/proc/${vm.pid}/root`)).toBe(join(getTestDriver().runDir, vm.id));
      }
      const r = await sh(vm, "echo alive; id -u");
      expect(r.out).toBe("alive\n1000\n");
    } finally {
      await vm.kill();
    }
  });

  it("a template snapshotted by a hardened QEMU restores, and its RAM file is unchanged by clones that wrote memory", async () => {
    const pool = await getTestPool();
    const snap = pool.snapshot!;
    expect(statSync(snap.memoryFile).mode & 0o777).toBe(0o444);
    expect(statSync(snap.stateFile).mode & 0o777).toBe(0o444);
    if (isRoot) {
      // The VM user cannot open the template's RAM file for writing.
      const user = getTestDriver().vmUser()!;
      const w = spawnSync("/usr/bin/setpriv", [`--reuid=${user.uid}`, `--regid=${user.gid}`, "--clear-groups", "--", "/bin/sh", "-c", 'exec 3>>"$0"', snap.memoryFile], {
        encoding: "utf8",
      });
      expect(w.status).not.toBe(0);
      expect(w.stderr).toMatch(/denied/i);
    }
    const before = await sha256(snap.memoryFile);
    const vms = [await acquireTestVm(), await acquireTestVm()];
    try {
      // Both at once (a vCPU thread each): /workspace is a tmpfs, so 64 MiB of random data lands in
      // each clone's guest RAM, over template pages.
      const fills = await Promise.all(vms.map((vm) => sh(vm, "head -c 67108864 /dev/urandom > /workspace/fill && wc -c < /workspace/fill")));
      for (const r of fills) expect(r.out.trim()).toBe("67108864");
    } finally {
      await Promise.all(vms.map((vm) => vm.kill()));
    }
    expect(await sha256(snap.memoryFile)).toBe(before);
  });

  it("takes a fresh snapshot with spawning denied and restores a clone from it", async () => {
    const driver = getTestDriver();
    const image = await getTestImage();
    const dir = mkdtempSync(join(tmpdir(), "vw-snap-"));
    try {
      const shape = { memoryMiB: 256, vcpus: 1, workspaceMiB: 32, network: false };
      const template = await driver.start({ image, ...shape, snapshotable: true });
      let snapPath: string;
      try {
        await template.ready(COLD_BOOT_MS);
        expect(statusOf(template.pid).Seccomp).toBe("2");
        // Snapshot while a host is connected, as the template pool does: with nobody connected the
        // guest agent waits in a blocking write of its "ready" frame, and a clone restored from that
        // moment never wakes up to a new connection (under TCG it depended on timing: the old flake).
        const client = await GuestClient.connect(await template.channel());
        let snap;
        try {
          expect((await client.exec({ shell: "echo from-template > /workspace/mark", timeoutMs: 60_000 })).exitCode).toBe(0);
          snap = await template.snapshot!(join(dir, "s"));
        } finally {
          client.close();
        }
        snapPath = snap.stateFile;
        expect(statSync(snap.stateFile).size).toBeGreaterThan(1000);
        const clone = await driver.start({ image, ...shape, restore: snap });
        try {
          await clone.ready(COLD_BOOT_MS);
          expect((await sh(clone, "cat /workspace/mark")).out).toBe("from-template\n");
        } finally {
          await clone.kill();
        }
      } finally {
        await template.kill();
      }
      expect(snapPath).toContain(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // A cold boot under TCG on a busy machine can take minutes: the test may take as long as the
    // waits inside it, not the suite's default 60 s.
  }, 2 * COLD_BOOT_MS + 60_000);
});
