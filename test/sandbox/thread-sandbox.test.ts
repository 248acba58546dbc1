/**
 * A thread's sandbox outlives its VMs: real VMs restored from the template, the thread's
 * /workspace in a real NATS Object Store. VMs die here the way they die in production: QEMU killed
 * from outside (SIGKILL), or frozen (SIGSTOP: the process lives, its agent answers nothing).
 */
import { MicroVMBackend, SANDBOX_FAILURE } from "../../src/sandbox/backend.ts";
import { ThreadSandbox, type ThreadSandboxNotice } from "../../src/sandbox/thread-sandbox.ts";
import type { VmHandle } from "../../src/sandbox/vmm/driver.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";
import { acquireTestVm, closeTestPool, getTestPool } from "../support/vm.ts";

let nats: TestNats;
const opened: ThreadSandbox[] = [];
beforeAll(async () => {
  await getTestPool(); // a missing QEMU or image fails here, clearly
  nats = await startTestNats();
});
afterAll(async () => {
  for (const s of opened) await s.close().catch(() => {});
  await closeTestPool();
  await nats?.close();
});

const SKILL: [string, Uint8Array] = ["/skills/probe/SKILL.md", new TextEncoder().encode("probe skill\n")];

/**
 * A thread's sandbox set up as the agent sets it up: a skill installed outside /workspace, a file
 * in /workspace, and the setup a replacement VM gets (the skill again).
 */
async function openThread(threadId: string, options: ConstructorParameters<typeof ThreadSandbox>[1] = {}) {
  const notices: ThreadSandboxNotice[] = [];
  const backend = await MicroVMBackend.create({ threadId, vm: await acquireTestVm(), provider: acquireTestVm, store: nats.backbone.blobs });
  const sandbox = new ThreadSandbox(backend, {
    ...options,
    onNotice: (n) => {
      notices.push(n);
      options.onNotice?.(n);
    },
  });
  opened.push(sandbox);
  expect((await sandbox.installFiles([SKILL]))[0]!.error).toBeNull();
  expect(await sandbox.write("/workspace/notes.txt", "kept\n")).toMatchObject({ path: "/workspace/notes.txt" });
  sandbox.setReplacementSetup(async (fresh) => {
    const [r] = await fresh.installFiles([SKILL]);
    if (r?.error) throw new Error(`skill not placed: ${r.error}`);
  });
  return { sandbox, notices };
}

const vmOf = (s: ThreadSandbox) => s.vm as VmHandle;
const PROBE = "cat /skills/probe/SKILL.md /workspace/notes.txt";

it("QEMU killed during a call: the call runs again on a replacement that has the skills and /workspace back", async () => {
  const { sandbox, notices } = await openThread("ts-killed");
  const first = vmOf(sandbox);
  const call = sandbox.execute(PROBE);
  process.kill(first.pid, "SIGKILL"); // before the guest could answer: the VM dies under the call
  const r = await call;
  expect(r).toMatchObject({ exitCode: 0, output: "probe skill\nkept\n" });
  await first.exited;
  expect(vmOf(sandbox)).not.toBe(first);
  expect(sandbox.generation).toBe(2);
  expect(notices.map((n) => n.kind)).toEqual(["call_retried", "vm_replaced"]);
  expect(notices[0]).toMatchObject({ op: "execute", generation: 1, failure: expect.stringMatching(/sandbox VM stopped responding/) });
});

it("a VM that died between calls: the next call runs on a replacement set up first, with no retry", async () => {
  const { sandbox, notices } = await openThread("ts-idle");
  const first = vmOf(sandbox);
  process.kill(first.pid, "SIGKILL");
  await first.exited;
  expect(await sandbox.read("/skills/probe/SKILL.md")).toMatchObject({ content: "probe skill\n" });
  expect(await sandbox.execute(PROBE)).toMatchObject({ exitCode: 0, output: "probe skill\nkept\n" });
  expect(notices).toEqual([{ kind: "vm_replaced", generation: 2 }]);
});

it("a VM that dies again under the retry: one clear error, marked as a sandbox failure; the next call gets a third VM", async () => {
  let killReplacement = true;
  const { sandbox, notices } = await openThread("ts-twice", {
    // The replacement dies as soon as it is set up, before the retried call reaches it.
    onNotice: (n) => {
      if (n.kind === "vm_replaced" && killReplacement) {
        killReplacement = false;
        process.kill(vmOf(sandbox).pid, "SIGKILL");
      }
    },
  });
  const call = sandbox.execute(PROBE);
  process.kill(vmOf(sandbox).pid, "SIGKILL");
  const r = await call;
  expect(r.exitCode).toBeNull();
  expect(r.output.startsWith(SANDBOX_FAILURE)).toBe(true); // the effect journal never records it
  expect(r.output).toMatch(/the sandbox VM died twice while running this execute call \(first: .*; then: .*\)\. The thread's files are kept/);
  expect(await sandbox.execute(PROBE)).toMatchObject({ exitCode: 0, output: "probe skill\nkept\n" });
  expect(sandbox.generation).toBe(3);
  expect(notices.map((n) => n.kind)).toEqual(["call_retried", "vm_replaced", "vm_replaced"]);
});

it("an agent that stops answering (QEMU alive, guest frozen) is found by the ping, its VM killed and replaced, the call run again", async () => {
  const { sandbox, notices } = await openThread("ts-frozen", { liveness: { intervalMs: 1_000, timeoutMs: 10_000 } });
  const first = vmOf(sandbox);
  process.kill(first.pid, "SIGSTOP"); // the process lives and holds its sockets; nothing answers
  const r = await sandbox.execute(PROBE);
  expect(r).toMatchObject({ exitCode: 0, output: "probe skill\nkept\n" });
  expect((await first.exited).reason).toBe("killed"); // by the host, after the unanswered ping
  expect(notices.map((n) => n.kind)).toEqual(["agent_unresponsive", "call_retried", "vm_replaced"]);
  expect(notices[0]).toEqual({ kind: "agent_unresponsive", generation: 1, timeoutMs: 10_000 });
});

it("a live agent answers the ping while a long command runs: nothing is replaced", async () => {
  const { sandbox, notices } = await openThread("ts-busy", { liveness: { intervalMs: 200, timeoutMs: 10_000 } });
  // Several pings fall inside the command (pings every 200 ms; the command waits on its own
  // children for longer than that under any load).
  const r = await sandbox.execute("for i in 1 2 3 4 5 6 7 8; do sleep 0.2; done; echo done");
  expect(r).toMatchObject({ exitCode: 0, output: "done\n" });
  expect(sandbox.generation).toBe(1);
  expect(notices).toEqual([]);
});
