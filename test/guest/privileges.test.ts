/**
 * In a real VM: the guest agent keeps a root real uid but works with the sandbox user's effective
 * ids and no supplementary group of root's (src/guest/privileges.ts), and the commands it runs are
 * the sandbox user through and through, unable to signal the agent or to make a user namespace.
 * On Debian 13's Node this holds only through the image's node-setid-shim.so, so this test is part
 * of the Debian 13 proof too.
 */
import { GuestClient } from "../../src/sandbox/guest-client.ts";
import { acquireTestVm, closeTestPool } from "../support/vm.ts";

async function sh(client: GuestClient, shell: string): Promise<string> {
  return (await client.exec({ shell, timeoutMs: 60_000 })).output.toString("utf8");
}

/** Uid/Gid/Groups lines of /proc/<pid>/status, as `name: [values]`. */
function ids(status: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const line of status.split("\n")) {
    const m = /^(Uid|Gid|Groups):\s*(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.trim().split(/\s+/).filter(Boolean);
  }
  return out;
}

afterAll(() => closeTestPool(), 120_000);

describe("the guest agent's privileges", () => {
  it("works with the sandbox user's effective ids and no supplementary groups; commands cannot reach it", async () => {
    const vm = await acquireTestVm();
    const client = await GuestClient.connect(await vm.channel());
    try {
      // The agent is the node process running agent.mjs; /proc/<pid>/status is readable by anyone.
      const found = await sh(
        client,
        'for p in /proc/[0-9]*; do if tr "\\0" " " < $p/cmdline 2>/dev/null | grep -q "agent\\.mjs"; then echo "pid ${p#/proc/}"; cat $p/status; fi; done',
      );
      const pid = /^pid (\d+)$/m.exec(found)?.[1];
      expect(pid, found).toBeDefined();
      const agent = ids(found);
      expect(agent.Uid).toEqual(["0", "1000", "0", "1000"]); // real, effective, saved, filesystem
      expect(agent.Gid).toEqual(["0", "1000", "0", "1000"]);
      expect(agent.Groups!.filter((g) => g !== "1000")).toEqual([]);

      const self = await sh(client, `cat /proc/self/status; kill -0 ${pid} 2>&1; echo kill=$?`);
      const cmd = ids(self);
      expect(cmd.Uid).toEqual(["1000", "1000", "1000", "1000"]);
      expect(cmd.Gid).toEqual(["1000", "1000", "1000", "1000"]);
      expect(cmd.Groups!.filter((g) => g !== "1000")).toEqual([]);
      // The agent's real and saved uid stay root: the sandbox user may not signal it.
      expect(self).toMatch(/kill=1\n$/);
      expect(self).toMatch(/not permitted/i);
    } finally {
      client.close();
      await vm.kill();
    }
  }, 300_000);

  it("gives the sandbox user no user namespaces: `unshare -Ur` is refused", async () => {
    const vm = await acquireTestVm();
    const client = await GuestClient.connect(await vm.channel());
    try {
      // With a user namespace the user would be root over new namespaces (mount, net, ...) and
      // reach kernel code written for root; the image turns them off for everyone (guest-scripts.ts).
      const r = await client.exec({ shell: "unshare -Ur id -u; echo rc=$?; unshare -U true; echo rc=$?; cat /proc/sys/user/max_user_namespaces", timeoutMs: 60_000 });
      const lines = r.output.toString("utf8").trim().split("\n");
      expect(lines.pop()).toBe("0"); // user.max_user_namespaces
      expect(lines).not.toContain("0"); // `id -u` never ran as root inside
      expect(lines.filter((l) => l.startsWith("rc="))).toEqual(["rc=1", "rc=1"]);
      expect(lines.filter((l) => /unshare failed: (Operation not permitted|No space left on device)/.test(l))).toHaveLength(2);
    } finally {
      client.close();
      await vm.kill();
    }
  }, 300_000);
});
