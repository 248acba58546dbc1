/**
 * In a real VM: a command owns its processes (src/guest/ops/exec.ts, src/guest/command-cgroup.ts).
 * Whatever a child does with sessions or inherited descriptors, it dies when its command ends, and
 * when `exec` answers none of the command's processes is left; a timed-out command returns the
 * output it had written.
 */
import { GuestClient } from "../../../src/sandbox/guest-client.ts";
import { MicroVMBackend } from "../../../src/sandbox/backend.ts";
import type { VmHandle } from "../../../src/sandbox/vmm/driver.ts";
import { acquireTestVm, closeTestPool } from "../../support/vm.ts";

/** Long enough never to be reached here: a command that would hang fails the test by its timeout. */
const NEVER_MS = 600_000;

let vm: VmHandle;
let client: GuestClient;

beforeAll(async () => {
  vm = await acquireTestVm();
  client = await GuestClient.connect(await vm.channel());
}, 300_000);
afterAll(async () => {
  client?.close();
  await vm?.kill();
  await closeTestPool();
}, 120_000);

async function sh(shell: string, timeoutMs = NEVER_MS) {
  const r = await client.exec({ shell, cwd: "/workspace", timeoutMs });
  return { ...r, text: r.output.toString("utf8") };
}

/** The command lines of every live process whose real uid is the sandbox user's, but this
 * query's own shell (zombies have none; the agent's real uid is root's). One grep reads every
 * status file (a process spawned per /proc entry cost seconds under TCG); processes gone since,
 * like the $(…) subshell itself, print nothing (stderr goes away before the redirect fails). */
async function sandboxProcesses(): Promise<string[]> {
  const r = await sh('for f in $(grep -lE "^Uid:\\s+1000\\s" /proc/[0-9]*/status 2>/dev/null); do p=${f%/status}; [ "${p#/proc/}" != "$$" ] && tr "\\0" " " 2>/dev/null < $p/cmdline && echo; done; true');
  return r.text.split("\n").filter((l) => l.trim() !== "");
}

describe("a command owns its processes", () => {
  it("kills a setsid grandchild when the command ends: what it would write afterwards never appears", async () => {
    // The grandchild leaves the command's session and process group, then waits for a file that
    // only a later command creates before it writes to /workspace.
    const started = await sh(
      "setsid sh -c 'echo $$ > /tmp/gc.pid; while [ ! -e /workspace/go ]; do sleep 0.05; done; echo escaped > /workspace/late' " +
        "< /dev/null > /dev/null 2>&1 & while [ ! -s /tmp/gc.pid ]; do :; done; echo started",
    );
    expect(started.text).toBe("started\n");
    expect(started.exitCode).toBe(0);

    const after = await sh('touch /workspace/go; p=$(cat /tmp/gc.pid); [ -e /proc/$p ] && echo "alive $p" || echo dead; ls /workspace');
    expect(after.text).toMatch(/^dead\n/);
    // Dead, so it can never write the file; it is not there either.
    expect(after.text).not.toMatch(/late/);
    expect(await sandboxProcesses()).toEqual([]);
  }, NEVER_MS);

  it("does not wait for a background child that holds stdout open: it returns with the output", async () => {
    const r = await sh("setsid sleep 987651 & (sleep 987652 &) ; echo out");
    expect(r.text).toBe("out\n");
    expect(r.exitCode).toBe(0);
    expect(r.timedOut).toBe(false);
    expect((await sandboxProcesses()).filter((p) => p.includes("98765"))).toEqual([]);
  }, NEVER_MS);

  it("at a timeout returns the output written so far, with the signal, and kills every process", async () => {
    const r = await sh("echo partial; echo more >&2; setsid sleep 987653 < /dev/null & exec sleep 987654", 2_000);
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBeNull();
    expect(r.signal).toBe("SIGKILL");
    expect(r.text).toContain("partial\n");
    expect(r.text).toContain("more\n");
    expect((await sandboxProcesses()).filter((p) => p.includes("98765"))).toEqual([]);
  }, NEVER_MS);

  it("runs each command in a cgroup of its own that it cannot leave; the agent is never in one", async () => {
    const r = await sh("cat /proc/self/cgroup; echo $$ > /sys/fs/cgroup/cgroup.procs 2>&1 || echo refused; cat /proc/self/cgroup");
    const [own, ...rest] = r.text.split("\n");
    expect(own).toMatch(/^0::\/commands\/c\d+$/);
    expect(rest.join("\n")).toMatch(/refused/);
    expect(rest).toContain(own);
    const next = await sh("cat /proc/self/cgroup");
    expect(next.text.trim()).toMatch(/^0::\/commands\/c\d+$/);
    expect(next.text.trim()).not.toBe(own);
    // The agent (node running agent.mjs) is back in the root cgroup, and the finished commands'
    // cgroups are gone.
    const agent = await sh('for f in $(grep -l "agent\\.mjs" /proc/[0-9]*/cmdline 2>/dev/null); do cat ${f%cmdline}cgroup; done; ls /sys/fs/cgroup/commands');
    expect(agent.text.split("\n")[0]).toBe("0::/");
    expect(agent.text.split("\n").filter((l) => /^c\d+$/.test(l))).toHaveLength(1); // this command's own
  }, NEVER_MS);
});

describe("execute (MicroVMBackend)", () => {
  it("at its timeout answers with the output so far and a note, not a sandbox error", async () => {
    const b = await MicroVMBackend.create({ threadId: "exec-timeout", vm: await acquireTestVm(), executeTimeoutMs: 2_000 });
    try {
      const r = await b.execute("echo first-line; setsid sh -c 'exec sleep 987655' & sleep 987656");
      expect(r.exitCode).toBeNull();
      expect(r.output).toMatch(/^first-line\n/);
      expect(r.output).toMatch(/timed out after 2 s and was killed/);
      expect(r.output).not.toMatch(/sandbox/i);
      const ps = await b.execute("cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '");
      expect(ps.output).not.toMatch(/sleep 98765[56]/);
    } finally {
      await b.close();
    }
  }, NEVER_MS);
});
