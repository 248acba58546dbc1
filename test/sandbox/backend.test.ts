/**
 * MicroVMBackend in real microVMs (QEMU microvm, TCG on this host): the shared conformance suite,
 * then what only a VM can show — the unprivileged user, fork bombs and disk fillers contained, no
 * network, the guest clock set after a snapshot restore.
 */
import { MicroVMBackend } from "../../src/sandbox/backend.ts";
import { buildImage } from "../../src/sandbox/image/build.ts";
import { acquireTestVm, closeTestPool } from "../support/vm.ts";
import { backendSuite } from "./backend-suite.ts";

let imageReady: Promise<unknown> | null = null;
/** A VM restored from the test pool's template, of an image holding the agent as it is now. */
async function testVm() {
  // Rebuilds only when an input changed (the agent bundle is one), so the VMs run this checkout's agent.
  imageReady ??= buildImage();
  await imageReady;
  return acquireTestVm();
}
afterAll(async () => {
  await closeTestPool();
});

backendSuite("MicroVMBackend in a microVM", async () => ({ isVm: true, makeVm: testVm, teardown: async () => {} }));

describe("only in a microVM", () => {
  let b: MicroVMBackend;
  beforeAll(async () => {
    b = await MicroVMBackend.create({ threadId: "vm-only", vm: await testVm() });
  });
  afterAll(async () => {
    await b?.close();
  });

  it("runs commands as the unprivileged sandbox user, which cannot touch the read-only root", async () => {
    expect((await b.execute("id -u; id -g")).output).toBe("1000\n1000\n");
    const r = await b.execute("touch /usr/evil || echo refused");
    expect(r.output).toMatch(/refused/);
    expect((await b.execute("touch /skills/evil 2>&1; echo $?")).output).toMatch(/Permission denied|Read-only/);
  });

  it("installed skills are readable by commands but not writable", async () => {
    await b.installFiles([["/skills/tool/run.py", Buffer.from("print('skill ran')\n")]]);
    expect((await b.execute("python3 /skills/tool/run.py")).output).toBe("skill ran\n");
    const r = await b.execute("echo x >> /skills/tool/run.py; rm -f /skills/tool/run.py; mkdir /skills/x; cat /skills/tool/run.py");
    expect(r.output).toMatch(/Permission denied/);
    expect(r.output).toMatch(/print\('skill ran'\)/);
  });

  it("file operations run with the sandbox user's rights: a root-owned directory in /workspace stays closed", async () => {
    // installFiles is host-only and leaves what it creates to root.
    expect((await b.installFiles([["/workspace/rootonly/f.txt", Buffer.from("root's\n")]]))[0]!.error).toBeNull();
    expect((await b.execute("stat -c %u:%a /workspace/rootonly")).output).toBe("0:755\n");
    // The path passes every confinement check (a writable root); only the user's rights stop it.
    expect((await b.write("/workspace/rootonly/g.txt", "x")).error).toBe("Failed to write to /workspace/rootonly/g.txt: permission_denied");
    expect((await b.edit("/workspace/rootonly/f.txt", "root's", "mine")).error).toBe("Failed to write edited file '/workspace/rootonly/f.txt': permission_denied");
    expect((await b.delete("/workspace/rootonly/f.txt")).error).toBe(
      "Error deleting file '/workspace/rootonly/f.txt': rm: cannot remove '/workspace/rootonly/f.txt': Permission denied",
    );
    expect((await b.read("/workspace/rootonly/f.txt")).content).toBe("root's\n");
    // What the backend writes belongs to the sandbox user, as before.
    expect((await b.write("/workspace/mine/h.txt", "x")).error).toBeUndefined();
    expect((await b.execute("stat -c %u:%g /workspace/mine /workspace/mine/h.txt")).output).toBe("1000:1000\n1000:1000\n");
  });

  it("a parent directory swapped for a symlink to /etc while writes run never lets a write land in /etc", async () => {
    // A command flips /workspace/race between a real directory and a symlink to /etc as fast as it
    // can while the host keeps writing through it: whichever state a write's checks and its open
    // see, nothing may appear in /etc (root-only: the agent writes with the sandbox user's ids).
    const swapper = [
      "import os, time",
      "os.chdir('/workspace'); os.mkdir('race'); os.symlink('/etc', 'race.l'); print('go', flush=True)",
      "end = time.time() + 6",
      "while time.time() < end:",
      "    try:",
      "        os.rename('race', 'race.d'); os.rename('race.l', 'race'); os.rename('race', 'race.l'); os.rename('race.d', 'race')",
      "    except OSError:",
      "        pass",
    ].join("\n");
    const c = await b.guest();
    let go!: () => void;
    const started = new Promise<void>((resolve) => (go = resolve));
    let running = true;
    const swap = c
      .exec({ argv: ["python3", "-c", swapper], timeoutMs: 30_000 }, { timeoutMs: 60_000, onOutput: (bytes) => bytes.toString().includes("go") && go() })
      .finally(() => (running = false));
    await started;
    let n = 0;
    const outcomes = { written: 0, refused: 0 };
    while (running) {
      const r = n % 2 ? await b.write(`/workspace/race/vw-race-${n}.txt`, "escaped?") : await b.edit("/workspace/race/seed.txt", "a", "b");
      if (r.error) outcomes.refused++;
      else outcomes.written++;
      if (n % 2 === 0) await b.write("/workspace/race/seed.txt", "a");
      n++;
    }
    expect((await swap).exitCode).toBe(0);
    expect(outcomes.written + outcomes.refused).toBeGreaterThan(10);
    expect((await b.execute("ls -a /etc | grep -c vw-race; ls -a /etc | grep -c seed.txt")).output).toBe("0\n0\n");
    expect((await b.execute("test -f /etc/passwd && ! test -w /etc && echo etc-intact")).output).toBe("etc-intact\n");
  }, 120_000);

  it("has no network: only lo, and connections fail", async () => {
    expect((await b.execute("ls /sys/class/net")).output.trim()).toBe("lo");
    const r = await b.execute(`python3 -c "import socket; socket.create_connection(('1.1.1.1', 80), timeout=3)" 2>&1 | tail -1`);
    expect(r.output).toMatch(/Network is unreachable|OSError|timed out/);
  });

  it("sets the guest clock from the host after a snapshot restore", async () => {
    const guest = Number((await b.execute("date +%s")).output.trim());
    expect(Math.abs(guest - Date.now() / 1000)).toBeLessThan(5);
  });

  it("contains a fork bomb: it is killed at the timeout and the VM keeps answering", async () => {
    const bombed = await MicroVMBackend.create({ threadId: "vm-bomb", vm: await testVm(), executeTimeoutMs: 8000 });
    try {
      const r = await bombed.execute("bomb() { bomb | bomb & }; bomb; sleep 100");
      expect(r.exitCode).toBeNull();
      expect(r.output).toMatch(/timed out/);
      // Every process of the sandbox user that is not part of this command (its own cgroup): none.
      const after = await bombed.execute(
        'echo alive; read mine < /proc/self/cgroup; n=0; for c in /proc/[0-9]*/cgroup; do [ -O "$c" ] && read g < "$c" 2>/dev/null && [ "$g" != "$mine" ] && n=$((n+1)); done; echo "$n"',
      );
      expect(after.output).toBe("alive\n0\n");
    } finally {
      await bombed.close();
    }
  }, 120_000);

  it("contains a disk filler: ENOSPC, a clear error for writes, and recovery after cleanup", async () => {
    const fill = await b.execute("cat /dev/zero > /workspace/fill; echo rc=$?; df -k /workspace | tail -1");
    expect(fill.output).toMatch(/No space left on device/);
    expect(fill.output).toMatch(/rc=1/);
    expect((await b.write("/workspace/after.txt", "x".repeat(100_000))).error).toMatch(/no space/);
    expect((await b.delete("/workspace/fill")).error).toBeUndefined();
    expect((await b.write("/workspace/after.txt", "fits again")).error).toBeUndefined();
    expect((await b.read("/workspace/after.txt")).content).toBe("fits again");
    const tmp = await b.execute("cat /dev/zero > /tmp/fill; echo rc=$?; rm /tmp/fill");
    expect(tmp.output).toMatch(/rc=1/);
  }, 120_000);
});
