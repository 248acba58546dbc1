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
    b = await MicroVMBackend.create({ threadId: "vm-only", vm: await testVm(), executeTimeoutMs: 8000 });
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
    const r = await b.execute("bomb() { bomb | bomb & }; bomb; sleep 100");
    expect(r.exitCode).toBeNull();
    expect(r.output).toMatch(/timed out/);
    const after = await b.execute("echo alive; ls /proc | grep -c '^[0-9]'");
    expect(after.output.split("\n")[0]).toBe("alive");
    expect(Number(after.output.split("\n")[1])).toBeLessThan(60); // the bomb's processes are gone
  }, 60_000);

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
