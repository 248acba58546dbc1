/**
 * One conformance suite for MicroVMBackend, run against every kind of sandbox it can drive: real
 * microVMs (`backend.test.ts`) and the same agent as a host process (`backend-host.test.ts`, quick).
 * Results are compared with deepagents' own FilesystemBackend where deepagents defines them.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FilesystemBackend } from "deepagents";
import { MicroVMBackend } from "../../src/sandbox/backend.ts";
import type { SandboxVm } from "../../src/sandbox/sandbox-vm.ts";
import { workspacePrefix, type WorkspaceStore } from "../../src/sandbox/ports.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";

export interface SuiteTarget {
  /** A fresh sandbox VM (each call a new one). */
  makeVm(): Promise<SandboxVm>;
  /** Checks that only make sense inside a real VM (users, limits, network). */
  isVm: boolean;
  teardown(): Promise<void>;
}

export function backendSuite(name: string, setup: () => Promise<SuiteTarget>): void {
  describe(name, () => {
    let target: SuiteTarget;
    let b: MicroVMBackend;
    const vms: SandboxVm[] = [];
    const makeVm = async () => {
      const vm = await target.makeVm();
      vms.push(vm);
      return vm;
    };
    let fsDir: string;
    let fsb: FilesystemBackend;

    beforeAll(async () => {
      target = await setup();
      b = await MicroVMBackend.create({ threadId: "suite", vm: await makeVm(), executeTimeoutMs: 20_000 });
      fsDir = await mkdtemp(join(tmpdir(), "vw-fsb-"));
      fsb = new FilesystemBackend({ rootDir: fsDir, virtualMode: true });
    });
    afterAll(async () => {
      await b?.close();
      for (const vm of vms) await vm.kill().catch(() => {});
      await target?.teardown();
      if (fsDir) await rm(fsDir, { recursive: true, force: true });
    });

    describe("files", () => {
      it("reads text exactly like deepagents' FilesystemBackend (pagination, EOF, empty)", async () => {
        // Where FilesystemBackend and deepagents' sandboxes disagree, ours follows BaseSandbox (see
        // contract.test.ts): a whitespace-only file shows its lines, and a window of 0 lines is empty
        // whatever the file.
        const cases = ["one\ntwo\nthree\n", "no newline at end", "a\n\n\nb", "", "x\n".repeat(1200), "ünïcødé ✓ 文件\nline2\n"];
        for (const [i, text] of cases.entries()) {
          const path = `/workspace/conf/case${i}.txt`;
          expect((await b.write(path, text)).error).toBeUndefined();
          await writeFile(join(fsDir, `case${i}.txt`), text);
          for (const [offset, limit] of [[0, 500], [1, 2], [2, 100], [0, 0], [50, 10], [1199, 5]] as const) {
            const ours = await b.read(path, offset, limit);
            const theirs = limit === 0 ? { content: "", mimeType: "text/plain" } : await fsb.read(`/case${i}.txt`, offset, limit);
            expect({ case: i, offset, limit, ...ours }).toEqual({ case: i, offset, limit, ...theirs });
          }
        }
      });

      it("reads binary files as bytes; writes binary types from base64 like deepagents", async () => {
        const png = randomBytes(70_000);
        expect((await b.write("/workspace/img/pic.png", png.toString("base64"))).error).toBeUndefined();
        const r = await b.read("/workspace/img/pic.png");
        expect(r.mimeType).toBe("image/png");
        expect(Buffer.from(r.content as Uint8Array).equals(png)).toBe(true);
        const raw = await b.readRaw("/workspace/img/pic.png");
        expect(Buffer.from(raw.data!.content as Uint8Array).equals(png)).toBe(true);
        const text = await b.readRaw("/workspace/conf/case0.txt");
        expect(text.data).toMatchObject({ content: "one\ntwo\nthree\n", mimeType: "text/plain" });
      });

      it("edits with deepagents' rules", async () => {
        await b.write("/workspace/e.md", "alpha beta alpha");
        expect((await b.edit("/workspace/e.md", "alpha", "x")).error).toBe("Multiple occurrences found in '/workspace/e.md'. Use replaceAll=true to replace all.");
        expect((await b.edit("/workspace/e.md", "gamma", "x")).error).toBe("String not found in file '/workspace/e.md'");
        expect(await b.edit("/workspace/e.md", "beta", "BETA")).toMatchObject({ path: "/workspace/e.md", occurrences: 1 });
        expect(await b.edit("/workspace/e.md", "alpha", "`id`", true)).toMatchObject({ occurrences: 2 });
        expect((await b.read("/workspace/e.md")).content).toBe("`id` BETA `id`");
        expect((await b.edit("/workspace/missing.md", "a", "b")).error).toBe("Error: File '/workspace/missing.md' not found");
      });

      it("lists (directories with a trailing /), globs (relative to the base, directories too), deletes", async () => {
        await b.write("/workspace/tree/a.ts", "a");
        await b.write("/workspace/tree/sub/b.ts", "b");
        await b.write("/workspace/tree/sub/c.py", "c");
        const ls = await b.ls("/workspace/tree");
        expect(ls.files!.map((f) => [f.path, f.is_dir])).toEqual([["/workspace/tree/a.ts", false], ["/workspace/tree/sub/", true]]);
        const top = await b.ls("/");
        expect(top.files!.map((f) => f.path)).toEqual(expect.arrayContaining(["/workspace/", "/skills/", "/tmp/"]));
        expect((await b.glob("**/*.ts", "/workspace/tree")).files!.map((f) => f.path)).toEqual(["a.ts", "sub/b.ts"]);
        expect((await b.glob("*", "/workspace/tree")).files!.map((f) => [f.path, f.is_dir])).toEqual([["a.ts", false], ["sub", true]]);
        expect((await b.glob("/workspace/tree/sub/*")).files!.map((f) => f.path)).toEqual(["/workspace/tree/sub/b.ts", "/workspace/tree/sub/c.py"]);
        expect(await b.delete("/workspace/tree/sub")).toMatchObject({ path: "/workspace/tree/sub" });
        expect((await b.glob("**/*", "/workspace/tree")).files!.map((f) => f.path)).toEqual(["a.ts"]);
        expect((await b.delete("/workspace/tree/sub")).error).toBe("Error: '/workspace/tree/sub' not found");
      });

      it("greps literally: quotes, $(...), backticks and newlines are data, never code", async () => {
        const lines = ["it's \"quoted\"", "$(touch /workspace/pwned)", "`touch /workspace/pwned`", "a.*b [x]", "end"];
        await b.write("/workspace/hostile/h.txt", lines.join("\n"));
        await b.write("/workspace/hostile/other.md", "$(touch /workspace/pwned)");
        for (const [i, pattern] of lines.slice(0, 4).entries()) {
          expect((await b.grep(pattern, "/workspace/hostile", "*.txt")).matches).toEqual([{ path: "/workspace/hostile/h.txt", line: i + 1, text: lines[i] }]);
        }
        expect((await b.grep("$(touch", "/workspace/hostile")).matches!.map((m) => m.path)).toEqual(["/workspace/hostile/h.txt", "/workspace/hostile/other.md"]);
        expect((await b.grep("quoted\"\n$(touch", "/workspace/hostile")).matches).toEqual([]);
        expect((await b.glob("$(touch /workspace/pwned)*", "/workspace")).files).toEqual([]);
        expect(await b.ls("/workspace/hostile/'; touch /workspace/pwned; '")).toEqual({ files: [] });
        expect((await b.downloadFiles(["/workspace/pwned"]))[0]!.error).toBe("file_not_found");
      });

      it("uploads and downloads binary, empty and unicode-named files; errors per file", async () => {
        const bin = randomBytes(3 * 1024 * 1024 + 5);
        const up = await b.uploadFiles([
          ["/workspace/up/data.bin", bin],
          ["/workspace/up/empty.txt", new Uint8Array()],
          ["/workspace/up/résumé 履歴書 🚀.txt", Buffer.from("unicode ✓")],
          ["/etc/evil", Buffer.from("x")],
          ["/skills/evil.md", Buffer.from("x")],
        ]);
        expect(up.map((u) => u.error)).toEqual([null, null, null, "permission_denied", "permission_denied"]);
        const down = await b.downloadFiles(["/workspace/up/data.bin", "/workspace/up/empty.txt", "/workspace/up/résumé 履歴書 🚀.txt", "/workspace/nope", "/workspace/up"]);
        expect(Buffer.from(down[0]!.content!).equals(bin)).toBe(true);
        expect(down[1]!.content!.length).toBe(0);
        expect(Buffer.from(down[2]!.content!).toString()).toBe("unicode ✓");
        expect(down.slice(3).map((d) => d.error)).toEqual(["file_not_found", "is_directory"]);
        expect((await b.read("/workspace/up/empty.txt")).content).toBe("System reminder: File exists but has empty contents");
        expect((await b.ls("/workspace/up")).files!.map((f) => f.path)).toContain("/workspace/up/résumé 履歴書 🚀.txt");
      });

      it("round-trips a 50 MB file", async () => {
        const big = randomBytes(50 * 1000 * 1000);
        expect((await b.uploadFiles([["/workspace/big.bin", big]]))[0]!.error).toBeNull();
        const [down] = await b.downloadFiles(["/workspace/big.bin"]);
        expect(down!.content!.length).toBe(big.length);
        expect(Buffer.from(down!.content!).equals(big)).toBe(true);
        await b.delete("/workspace/big.bin");
      }, 300_000);

      it("installs host files (skills) into read-only /skills, which the model cannot change", async () => {
        const skill = "---\nname: demo\ndescription: a demo skill\n---\nRun `python3 run.py`.\n";
        const res = await b.installFiles([["/skills/demo/SKILL.md", Buffer.from(skill)], ["/etc/evil", Buffer.from("x")]]);
        expect(res.map((r) => r.error)).toEqual([null, "permission_denied"]);
        expect((await b.read("/skills/demo/SKILL.md")).content).toBe(skill);
        expect((await b.ls("/skills")).files!.map((f) => f.path)).toEqual(["/skills/demo/"]);
        expect((await b.write("/skills/demo/SKILL.md", "hijacked")).error).toBe("Failed to write to /skills/demo/SKILL.md: permission_denied");
        expect((await b.uploadFiles([["/skills/demo/SKILL.md", Buffer.from("hijacked")]]))[0]!.error).toBe("permission_denied");
        expect((await b.edit("/skills/demo/SKILL.md", "a demo skill", "evil")).error).toBe("Failed to write edited file '/skills/demo/SKILL.md': permission_denied");
        expect((await b.delete("/skills/demo")).error).toBe("Error deleting file '/skills/demo': rm: cannot remove '/skills/demo': Permission denied");
      });

      it("accepts deepagents' /large_tool_results and /conversation_history", async () => {
        expect((await b.write("/large_tool_results/call_42", "big result")).error).toBeUndefined();
        expect((await b.read("/large_tool_results/call_42")).content).toBe("big result");
        expect((await b.write("/conversation_history/t1.md", "history")).error).toBeUndefined();
      });
    });

    describe("confinement", () => {
      it("refuses ../ and absolute paths outside the view, host-side and in the guest", async () => {
        for (const p of ["/workspace/../etc/passwd", "/etc/passwd", "../../etc/shadow", "/proc/self/environ", "/workspace/\0x"]) {
          expect((await b.read(p)).error).toMatch(/outside the sandbox|NUL/);
        }
        expect((await b.write("/workspace/../../root/x", "x")).error).toMatch(/outside the sandbox/);
        expect((await b.write("/skills/x.md", "x")).error).toBe("Failed to write to /skills/x.md: permission_denied");
        expect((await b.ls("/etc")).error).toMatch(/outside the sandbox/);
        expect((await b.grep("root", "/etc")).error).toMatch(/outside the sandbox/);
      });

      it("refuses symlinks that point out of the view", async () => {
        const r = await b.execute("ln -s /etc etc-link && ln -s /etc/passwd pw-link && echo made");
        expect(r.output).toContain("made");
        expect((await b.read("/workspace/pw-link")).error).toMatch(/outside the sandbox/);
        expect((await b.read("/workspace/etc-link/passwd")).error).toMatch(/outside the sandbox/);
        expect((await b.write("/workspace/etc-link/evil", "x")).error).toMatch(/outside the sandbox/);
        expect((await b.ls("/workspace/etc-link")).error).toMatch(/outside the sandbox/);
        expect((await b.grep("root:", "/workspace")).matches).toEqual([]);
        expect((await b.downloadFiles(["/workspace/pw-link"]))[0]!.error).toBe("permission_denied");
        await b.delete("/workspace/etc-link");
        await b.delete("/workspace/pw-link");
      });
    });

    describe("execute", () => {
      it("returns output and non-zero exit codes", async () => {
        expect(await b.execute("echo out; echo err >&2; exit 3")).toEqual({ output: "out\nerr\n", exitCode: 3, truncated: false });
      });

      it("kills a command that never ends at its timeout, with its children", async () => {
        // Long enough for the check below to run on a loaded machine (it ran past 1.5 s at a load of 17).
        const short = await MicroVMBackend.create({ threadId: "timeouts", vm: await makeVm(), executeTimeoutMs: 5000 });
        try {
          const r = await short.execute("(sleep 987654; echo child-survived > child.txt) & sleep 987653");
          expect(r.exitCode).toBeNull();
          expect(r.output).toMatch(/timed out after 5 s/);
          // Neither sleep is left in the process table (zombies have an empty cmdline).
          const ps = await short.execute("cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '");
          expect(ps.exitCode).toBe(0);
          expect(ps.output).not.toMatch(/sleep 98765[34]/);
        } finally {
          await short.close();
        }
      });

      it("caps a flood of output and sets truncated", async () => {
        const r = await b.execute("yes flood | head -c 3000000");
        expect(r.truncated).toBe(true);
        expect(r.exitCode).toBe(0);
        expect(r.output.length).toBeLessThan(300 * 1024);
        expect(r.output).toMatch(/\[output truncated at 262144 bytes\]$/);
      });
    });

    describe("persistence and VM death", () => {
      let nats: TestNats;
      let store: WorkspaceStore;
      beforeAll(async () => {
        nats = await startTestNats();
        store = nats.backbone.blobs;
      });
      afterAll(async () => {
        await nats?.close();
      });

      it("saves what the backend writes and what commands create; a killed VM is replaced with the files back", async () => {
        const p = await MicroVMBackend.create({ threadId: "persist-1", vm: await makeVm(), provider: makeVm, store });
        try {
          await p.write("/workspace/notes/plan.md", "# plan\n");
          await p.uploadFiles([["/workspace/data.bin", Buffer.from([0, 1, 2, 255])]]);
          await p.edit("/workspace/notes/plan.md", "plan", "PLAN");
          expect((await p.execute("mkdir -p out && echo made-by-command > out/result.txt && rm -f gone.txt")).exitCode).toBe(0);
          await p.write("/tmp/scratch.txt", "not persisted");
          const names = (await store.list(workspacePrefix("persist-1"))).sort();
          expect(names).toEqual(["data.bin", "notes/plan.md", "out/result.txt"].map((n) => workspacePrefix("persist-1") + n));

          // Kill QEMU while a command runs: that call gets a clear error...
          const firstVm = p.vm!;
          const running = p.execute("echo partial > partial.txt; sleep 876544");
          await expect
            .poll(async () => (await (await p.guest()).exec({ shell: "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '" })).output.toString(), { timeout: 20_000 })
            .toMatch(/sleep 876544/);
          await firstVm.kill();
          const interrupted = await running;
          expect(interrupted.exitCode).toBeNull();
          expect(interrupted.output).toMatch(/sandbox VM stopped responding/);
          // The death was noticed; the next call brings up a replacement and restores the files.
          expect((await p.read("/workspace/notes/plan.md")).content).toBe("# PLAN\n");
          expect(p.generation).toBe(2);
          expect(p.vm).not.toBe(firstVm);
          expect((await p.read("/workspace/out/result.txt")).content).toBe("made-by-command\n");
          expect(Buffer.from((await p.downloadFiles(["/workspace/data.bin"]))[0]!.content!)).toEqual(Buffer.from([0, 1, 2, 255]));
          expect((await p.read("/tmp/scratch.txt")).error).toBe("File '/tmp/scratch.txt' not found");
          // Deletions by commands are persisted too.
          await p.execute("rm out/result.txt");
          expect(await store.list(workspacePrefix("persist-1") + "out/")).toEqual([]);
        } finally {
          await p.close();
        }
      });

      it("a new backend for the same thread starts with the same /workspace", async () => {
        const first = await MicroVMBackend.create({ threadId: "persist-2", vm: await makeVm(), store });
        await first.execute("echo hello > greeting.txt");
        await first.close();
        const second = await MicroVMBackend.create({ threadId: "persist-2", vm: await makeVm(), store });
        try {
          expect((await second.read("/workspace/greeting.txt")).content).toBe("hello\n");
          const other = await MicroVMBackend.create({ threadId: "persist-other", vm: await makeVm(), store });
          expect((await other.read("/workspace/greeting.txt")).error).toBe("File '/workspace/greeting.txt' not found");
          await other.close();
        } finally {
          await second.close();
        }
      });

      it("a VM that dies mid-command: that call gets a clear error, without a provider later calls too", async () => {
        const lone = await MicroVMBackend.create({ threadId: "lone", vm: await makeVm() });
        const running = lone.execute("sleep 876543");
        // Kill once the command is surely running in the guest: when the process table shows it.
        await expect
          .poll(async () => (await lone.execute("cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '")).output, { timeout: 20_000 })
          .toMatch(/sleep 876543/);
        await lone.vm!.kill();
        const r = await running;
        expect(r.exitCode).toBeNull();
        expect(r.output).toMatch(/sandbox VM stopped responding/);
        expect((await lone.read("/workspace/x")).error).toMatch(/no replacement provider/);
        await lone.close();
      });
    });

  });
}
