/**
 * /workspace persistence after commands, on a real VM and a real NATS Object Store: many files a
 * command makes are all saved (concurrently), and a store that fails is never silent — the
 * command's answer says how many files are not saved, and the next command saves them.
 */
import { createHash } from "node:crypto";
import { MicroVMBackend } from "../../src/sandbox/backend.ts";
import type { SandboxVm } from "../../src/sandbox/sandbox-vm.ts";
import { workspacePrefix, type WorkspaceStore } from "../../src/sandbox/ports.ts";
import { WorkspaceSync, type SyncReport } from "../../src/sandbox/workspace-sync.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";
import { acquireTestVm, closeTestPool } from "../support/vm.ts";

let nats: TestNats;
let store: WorkspaceStore & { failing: boolean };
const vms: SandboxVm[] = [];

beforeAll(async () => {
  nats = await startTestNats();
  const real = nats.backbone.blobs;
  // The real store, which can be made to refuse writes and deletes (as a full or lost NATS does).
  store = {
    failing: false,
    put: (name, data) => (store.failing ? Promise.reject(new Error("store unavailable")) : real.put(name, data)),
    get: (name) => real.get(name),
    list: (prefix) => real.list(prefix),
    delete: (name) => (store.failing ? Promise.reject(new Error("store unavailable")) : real.delete(name)),
  };
});
afterAll(async () => {
  for (const vm of vms) await vm.kill().catch(() => {});
  await closeTestPool();
  await nats?.close();
});

const backend = async (threadId: string): Promise<MicroVMBackend> => {
  const vm = await acquireTestVm();
  vms.push(vm);
  return MicroVMBackend.create({ threadId, vm, store, executeTimeoutMs: 120_000 });
};
const saved = async (threadId: string, under = ""): Promise<string[]> =>
  (await store.list(workspacePrefix(threadId) + under)).map((n) => n.slice(workspacePrefix(threadId).length)).sort();

describe("workspace sync after commands", () => {
  it("saves the 1,000 files one command made, each with its content", async () => {
    const b = await backend("sync-1000");
    try {
      const r = await b.execute("mkdir -p gen && for i in $(seq 1 1000); do echo \"file $i\" > gen/f$i.txt; done");
      expect(r.output).toBe("");
      const names = await saved("sync-1000", "gen/");
      expect(names).toHaveLength(1000);
      expect(names).toEqual(Array.from({ length: 1000 }, (_, i) => `gen/f${i + 1}.txt`).sort());
      for (const i of [1, 500, 1000]) {
        expect(Buffer.from((await store.get(`${workspacePrefix("sync-1000")}gen/f${i}.txt`))!).toString()).toBe(`file ${i}\n`);
      }
    } finally {
      await b.close();
    }
  });

  it("a store that fails: the command's answer says so, and the next command saves and deletes what is due", async () => {
    const b = await backend("sync-fail");
    try {
      expect((await b.execute("echo keep > old.txt")).output).toBe("");
      store.failing = true;
      const r = await b.execute("mkdir made && for i in 1 2 3; do echo $i > made/f$i.txt; done; rm old.txt; echo done");
      expect(r.exitCode).toBe(0);
      expect(r.output).toMatch(/^done\n/);
      // Three files not saved and one not deleted: the agent (and the user, in the tool output) sees it.
      expect(r.output).toMatch(/4 of \d+ \/workspace file\(s\) could not be persisted to the thread's store \(first: [^)]*store unavailable\).*retried after the next command/);
      expect(await saved("sync-fail")).toEqual(["old.txt"]);

      // Still failing: still said, nothing lost in the sandbox.
      expect((await b.execute("cat made/f2.txt")).output).toMatch(/^2\n[\s\S]*could not be persisted/);

      store.failing = false;
      const next = await b.execute("true");
      expect(next.output).toBe("");
      expect(await saved("sync-fail")).toEqual(["made/f1.txt", "made/f2.txt", "made/f3.txt"]);
    } finally {
      store.failing = false;
      await b.close();
    }
  });

  it("after each command lists only what changed, and the store stays the workspace byte for byte", async () => {
    const vm = await acquireTestVm();
    vms.push(vm);
    // A backend without a store runs the commands; the sync is driven here, to see its reports.
    const b = await MicroVMBackend.create({ threadId: "sync-log", vm, executeTimeoutMs: 120_000 });
    const sync = new WorkspaceSync(store, "sync-log");
    const client = await b.guest();
    try {
      await sync.restore(client);
      const steps = [
        "mkdir -p big && for i in $(seq 1 2000); do echo $i > big/f$i; done",
        "echo changed > big/f7",
        "mkdir -p a/b/c && echo deep > a/b/c/x && echo top > t.txt",
        "mv a moved && rm big/f9",
        "rm -rf moved && rm t.txt && ln -s big/f1 t.txt",
        // A write through a hard link made by an earlier command (tree-cache.ts says what is seen).
        "ln big/f2 hard",
        "echo through-the-link >> hard",
        "echo again >> big/f2",
        // Linked and written through in one command: no event reaches big/, yet f3 is saved.
        "ln big/f3 hard3 && echo same-command >> hard3",
        "mv big big2 && mkdir big && echo new > big/f1",
        "true",
      ];
      const reports: SyncReport[] = [];
      for (const step of steps) {
        // big/'s listing cached (one link for f3) right before f3 gets a second name.
        if (step.startsWith("ln big/f3")) expect((await b.ls("/workspace/big")).files).toHaveLength(1999);
        expect((await b.execute(step)).exitCode).toBe(0);
        reports.push(await sync.afterCommand(client));
        // The VM's files and their digests, against the store's.
        const listing = await b.execute("find . -type f -print0 | xargs -0 -r sha256sum | sed 's#  \\./#  #' | sort -k2");
        const inVm = listing.output.trim().split("\n").map((l) => `${l.slice(66)} ${l.slice(0, 64)}`);
        const names = await saved("sync-log");
        const inStore = await Promise.all(names.map(async (n) => `${n} ${createHash("sha256").update((await store.get(workspacePrefix("sync-log") + n))!).digest("hex")}`));
        expect(inStore, `after: ${step}`).toEqual(inVm);
      }
      // The restore listed everything; after that only changes, but for the new hard link: its
      // other name could be anywhere, so that once the whole workspace is listed.
      expect(reports.map((r) => r.listed)).toEqual(steps.map((s) => (s.startsWith("ln ") ? "all" : "changes")));
      // One file changed in a 2,000-file workspace: the manifest named a handful, not 2,000.
      expect(reports[1]!).toMatchObject({ saved: 1, files: 1 });
      expect(reports.at(-1)!).toMatchObject({ saved: 0, deleted: 0, files: 0 });
    } finally {
      await b.close();
    }
  });
});
