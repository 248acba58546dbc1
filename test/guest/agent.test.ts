/**
 * The guest agent's protocol, end to end: the real bundled agent on the host over a unix socket,
 * with its view roots in a temp dir, driven by the real GuestClient.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { FrameDecoder, PROTOCOL_VERSION } from "../../src/protocol/index.ts";
import { GuestError, GuestErrorCode } from "../../src/sandbox/guest-error.ts";
import { GuestClient } from "../../src/sandbox/guest-client.ts";
import { startHostAgent, type HostAgent } from "./host-agent.ts";

let agent: HostAgent;
let c: GuestClient;

beforeAll(async () => {
  agent = await startHostAgent();
  c = await agent.connect();
});
afterAll(async () => {
  await agent?.close();
});

/** Dead: no such process, or a zombie (this container's pid 1 does not reap orphans). */
const isGone = async (pid: number): Promise<boolean> => {
  const st = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
  return st === null || st.slice(st.lastIndexOf(")") + 2).startsWith("Z");
};
/** Live (not zombie) processes whose argv is exactly `argv`. */
const processesRunning = async (argv: string[]): Promise<number[]> => {
  const want = `${argv.join("\0")}\0`;
  const found: number[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, "utf8").catch(() => "");
    if (cmdline === want && !(await isGone(Number(name)))) found.push(Number(name));
  }
  return found;
};
const bytesOf = (data: { bytes: Buffer }[]): Buffer => Buffer.concat(data.map((d) => d.bytes));
const codeOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
    return "resolved";
  } catch (err) {
    return GuestError.isInstance(err) ? err.code : `other: ${(err as Error).message}`;
  }
};

describe("hello", () => {
  it("reports the protocol, the view roots and which are writable", () => {
    expect(c.hello?.protocolVersion).toBe(PROTOCOL_VERSION);
    const roots = Object.fromEntries(c.hello!.roots.map((r) => [r.path, r.writable]));
    expect(roots).toMatchObject({ "/workspace": true, "/skills": false, "/tmp": true, "/large_tool_results": true });
  });
});

describe("files", () => {
  it("writes and reads back 5 MiB of random bytes (chunked both ways) and byte windows", async () => {
    const data = randomBytes(5 * 1024 * 1024 + 17);
    const w = await c.request("write", { path: "/workspace/bin/blob.bin", size: data.length }, { body: data });
    expect(w.value.size).toBe(data.length);
    expect((await readFile(agent.real("/workspace/bin/blob.bin"))).equals(data)).toBe(true);
    const r = await c.request("read", { path: "/workspace/bin/blob.bin" });
    expect(r.data.length).toBeGreaterThan(1);
    expect(bytesOf(r.data).equals(data)).toBe(true);
    const win = await c.request("read", { path: "/workspace/bin/blob.bin", offset: 1024 * 1024 - 3, length: 10 });
    expect(bytesOf(win.data).equals(data.subarray(1024 * 1024 - 3, 1024 * 1024 + 7))).toBe(true);
  });

  it("reads a line window and counts lines like deepagents (last line without newline counts)", async () => {
    await c.request("write", { path: "/workspace/lines.txt", size: 11 }, { body: Buffer.from("a\nb\nc\nd\ne\nf") });
    const r = await c.request("read", { path: "/workspace/lines.txt", lines: { offset: 2, limit: 3 } });
    expect(bytesOf(r.data).toString()).toBe("c\nd\ne\n");
    expect(r.value.totalLines).toBe(6);
    const tail = await c.request("read", { path: "/workspace/lines.txt", lines: { offset: 4, limit: 10 } });
    expect(bytesOf(tail.data).toString()).toBe("e\nf");
  });

  it("an exclusive write refuses an existing file and leaves it intact", async () => {
    await c.request("write", { path: "/workspace/keep.txt", size: 3 }, { body: Buffer.from("one") });
    expect(await codeOf(c.request("write", { path: "/workspace/keep.txt", size: 3, exclusive: true }, { body: Buffer.from("two") }))).toBe("exists");
    expect(await readFile(agent.real("/workspace/keep.txt"), "utf8")).toBe("one");
  });

  it("a body shorter than declared is refused and the old file survives", async () => {
    expect(await codeOf(c.request("write", { path: "/workspace/keep.txt", size: 10 }, { body: Buffer.from("short") }))).toBe("bad_request");
    expect(await readFile(agent.real("/workspace/keep.txt"), "utf8")).toBe("one");
  });

  it("edits exactly, enforcing uniqueness unless replaceAll", async () => {
    await c.request("write", { path: "/workspace/e.txt", size: 11 }, { body: Buffer.from("foo bar foo") });
    expect(await codeOf(c.request("edit", { path: "/workspace/e.txt", oldString: "foo", newString: "x" }))).toBe("not_unique");
    expect(await codeOf(c.request("edit", { path: "/workspace/e.txt", oldString: "zzz", newString: "x" }))).toBe("no_match");
    const one = await c.request("edit", { path: "/workspace/e.txt", oldString: "bar", newString: "BAR" });
    expect(one.value.occurrences).toBe(1);
    const all = await c.request("edit", { path: "/workspace/e.txt", oldString: "foo", newString: "$(id)", replaceAll: true });
    expect(all.value.occurrences).toBe(2);
    expect(await readFile(agent.real("/workspace/e.txt"), "utf8")).toBe("$(id) BAR $(id)");
  });

  it("lists, stats, makes directories and deletes (a symlink is removed, not followed)", async () => {
    await c.request("mkdir", { path: "/workspace/d/e/f", parents: true });
    await writeFile(agent.real("/workspace/d/e/f/x.txt"), "x");
    const ls = await c.request("ls", { path: "/workspace/d/e" });
    expect(ls.value.entries.map((e) => [e.path, e.type])).toEqual([["/workspace/d/e/f", "dir"]]);
    expect((await c.request("stat", { path: "/workspace/d/e/f/x.txt" })).value).toMatchObject({ type: "file", size: 1 });
    await writeFile(agent.real("/workspace/target.txt"), "keep me");
    await symlink(agent.real("/workspace/target.txt"), agent.real("/workspace/link"));
    await c.request("delete", { path: "/workspace/link" });
    expect(await readFile(agent.real("/workspace/target.txt"), "utf8")).toBe("keep me");
    await c.request("delete", { path: "/workspace/d", recursive: true });
    expect(await stat(agent.real("/workspace/d")).catch(() => null)).toBeNull();
    expect(await codeOf(c.request("delete", { path: "/workspace/d" }))).toBe("file_not_found");
  });

  it("uploads and downloads many files at once, errors per file", async () => {
    const files = [
      { path: "/workspace/up/a.txt", data: Buffer.from("alpha") },
      { path: "/skills/nope.txt", data: Buffer.from("denied") },
      { path: "/workspace/up/ünïcødé 文件.md", data: Buffer.from("unicode") },
      { path: "/workspace/up/empty", data: Buffer.alloc(0) },
    ];
    const up = await c.request("upload", { files: files.map((f) => ({ path: f.path, size: f.data.length })) }, { body: files.map((f) => f.data) });
    expect(up.value.results.map((r) => r.error ?? "ok")).toEqual(["ok", "permission_denied", "ok", "ok"]);
    const down = await c.request("download", { paths: ["/workspace/up/a.txt", "/workspace/missing", "/workspace/up/ünïcødé 文件.md", "/workspace/up/empty"] });
    expect(down.value.files.map((f) => f.error ?? f.size)).toEqual([5, "file_not_found", 7, 0]);
    const part = (i: number) => Buffer.concat(down.data.filter((d) => d.part === i).map((d) => d.bytes)).toString();
    expect([part(0), part(2), part(3)]).toEqual(["alpha", "unicode", ""]);
  });

  it("downloads many listed files through one read of them all, byte for byte, and falls back file by file", async () => {
    await mkdir(agent.real("/workspace/many"), { recursive: true });
    const want: Buffer[] = [];
    for (let i = 0; i < 300; i++) {
      // Text, binary, empty, and one bigger than a frame (read from the file in frames).
      const data = i === 7 ? Buffer.alloc(0) : i === 11 ? Buffer.from([0, 255, 10, 0]) : i === 13 ? Buffer.alloc(1536 * 1024, 0x61) : Buffer.from(`file ${i}\n`.repeat(i % 5 + 1));
      want.push(data);
      await writeFile(agent.real(`/workspace/many/f${i}`), data);
    }
    await symlink(agent.real("/workspace/many/f1"), agent.real("/workspace/many/link"));
    expect((await c.request("manifest", { path: "/workspace/many" })).value.files).toHaveLength(300); // lists them: the cached way
    const paths = [...want.map((_, i) => `/workspace/many/f${i}`), "/workspace/many/link", "/workspace/many/gone", "/etc/passwd"];
    // Frames counted on a socket of our own: the small files come back a few frames, not one each.
    const sock = connect(agent.socket);
    await new Promise((resolve) => sock.once("connect", resolve));
    const decoder = new FrameDecoder();
    let dataFrames = 0;
    sock.on("data", (chunk: Buffer) => (dataFrames += decoder.push(chunk).filter((f) => (f.header as { ev?: string }).ev === "data").length));
    const own = await GuestClient.connect(sock);
    try {
      const down = await own.request("download", { paths });
      // A symlink inside the view is followed (the one-by-one way, as before); outside: refused.
      expect(down.value.files.map((f) => f.error ?? f.size)).toEqual([...want.map((w) => w.length), want[1]!.length, "file_not_found", "permission_denied"]);
      for (let i = 0; i < want.length; i++) expect(Buffer.concat(down.data.filter((d) => d.part === i).map((d) => d.bytes)).equals(want[i]!)).toBe(true);
      expect(dataFrames).toBeLessThan(10);
    } finally {
      own.close();
    }
  });

  it("globs with **, {a,b} and classes; the manifest lists every workspace file", async () => {
    await mkdir(agent.real("/workspace/g/src/deep"), { recursive: true });
    for (const f of ["g/src/a.ts", "g/src/deep/b.ts", "g/src/c.js", "g/readme.md"]) await writeFile(agent.real(`/workspace/${f}`), "x");
    const ts = await c.request("glob", { pattern: "**/*.ts", path: "/workspace/g" });
    expect(ts.value.paths.map((p) => p.path)).toEqual(["/workspace/g/src/a.ts", "/workspace/g/src/deep/b.ts"]);
    const alt = await c.request("glob", { pattern: "src/*.{js,ts}", path: "/workspace/g" });
    expect(alt.value.paths.map((p) => p.path)).toEqual(["/workspace/g/src/a.ts", "/workspace/g/src/c.js"]);
    const abs = await c.request("glob", { pattern: "/workspace/g/*.md" });
    expect(abs.value.paths.map((p) => p.path)).toEqual(["/workspace/g/readme.md"]);
    const m = await c.request("manifest", {});
    expect(m.value.files.map((f) => f.path)).toContain("/workspace/g/src/deep/b.ts");
  });

  it("greps literally: quotes, $(...), backticks, regex characters and newlines are data", async () => {
    const text = "plain\nit's \"quoted\"\n$(rm -rf /)\n`whoami`\na.*b\n";
    await writeFile(agent.real("/workspace/hostile.txt"), text);
    await writeFile(agent.real("/workspace/bin.dat"), Buffer.from([0, 1, 2, 36, 40, 114, 109]));
    for (const [pattern, line] of [["it's \"quoted\"", 2], ["$(rm -rf /)", 3], ["`whoami`", 4], ["a.*b", 5]] as const) {
      const r = await c.request("grep", { pattern, path: "/workspace" });
      expect(r.value.matches).toEqual([{ path: "/workspace/hostile.txt", line, text: text.split("\n")[line - 1] }]);
    }
    expect((await c.request("grep", { pattern: "plain\n$(rm", path: "/workspace" })).value.matches).toEqual([]);
    expect((await c.request("grep", { pattern: "$(r", path: "/workspace", glob: "*.dat" })).value.matches).toEqual([]);
    const capped = await c.request("grep", { pattern: "a", path: "/workspace/hostile.txt", maxCount: 1 });
    expect(capped.value).toMatchObject({ truncated: true, matches: [{ line: 1 }] });
  });
});

describe("confinement", () => {
  it("refuses ../, absolute paths outside, NUL bytes and writes to /skills", async () => {
    expect(await codeOf(c.request("read", { path: "/workspace/../../../etc/passwd" }))).toBe("permission_denied");
    expect(await codeOf(c.request("read", { path: "/etc/passwd" }))).toBe("permission_denied");
    expect(await codeOf(c.request("read", { path: "/workspace/a\0b" }))).toBe("invalid_path");
    expect(await codeOf(c.request("write", { path: "/skills/x.md", size: 1 }, { body: Buffer.from("x") }))).toBe("permission_denied");
  });

  it("refuses symlinks that lead out, for reads, writes and listings", async () => {
    await symlink("/etc", agent.real("/workspace/etc-link"));
    await symlink("/etc/hostname", agent.real("/workspace/host-link"));
    expect(await codeOf(c.request("read", { path: "/workspace/host-link" }))).toBe("permission_denied");
    expect(await codeOf(c.request("read", { path: "/workspace/etc-link/passwd" }))).toBe("permission_denied");
    expect(await codeOf(c.request("ls", { path: "/workspace/etc-link" }))).toBe("permission_denied");
    expect(await codeOf(c.request("write", { path: "/workspace/etc-link/evil", size: 1 }, { body: Buffer.from("x") }))).toBe("permission_denied");
    // Walks do not follow it either.
    expect((await c.request("grep", { pattern: "root", path: "/workspace" })).value.matches).toEqual([]);
  });

  it("accepts deepagents' offload folders, stored inside /workspace", async () => {
    await c.request("write", { path: "/large_tool_results/call_1", size: 2 }, { body: Buffer.from("ok") });
    expect(await readFile(agent.real("/workspace/.large_tool_results/call_1"), "utf8")).toBe("ok");
  });
});

describe("exec", () => {
  it("runs argv without a shell: arguments are data", async () => {
    const r = await c.exec({ argv: ["printf", "%s|", "$(id)", "`whoami`", "a b", "it's"] });
    expect(r.output.toString()).toBe("$(id)|`whoami`|a b|it's|");
    expect(r.exitCode).toBe(0);
  });

  it("runs a shell string with stdin, env and cwd, and reports the exit code", async () => {
    const r = await c.exec({ shell: 'cat; echo " $FOO"; pwd; exit 7', env: { FOO: "bar" }, cwd: "/workspace/up", stdin: true }, { body: Buffer.from("in") });
    expect(r.output.toString()).toBe(`in bar\n${agent.real("/workspace/up")}\n`);
    expect(r.exitCode).toBe(7);
  });

  it("streams start → output → end", async () => {
    const events: string[] = [];
    for await (const e of c.execStream({ shell: "echo one; echo two >&2" })) events.push(e.type === "output" ? `${e.stream}:${e.bytes.toString().trim()}` : e.type);
    expect(events[0]).toBe("start");
    expect(events.at(-1)).toBe("end");
    expect(events).toContain("stdout:one");
    expect(events).toContain("stderr:two");
  });

  it("kills a command that never ends at its timeout, with its children", async () => {
    const r = await c.exec({ shell: "sleep 300 & echo $!; sleep 300", timeoutMs: 300 });
    expect(r.timedOut).toBe(true);
    expect(r.signal).toBe("SIGKILL");
    const childPid = Number(r.output.toString().trim());
    expect(childPid).toBeGreaterThan(0);
    // The host is the "guest" here, so the background child's pid is visible: it must be gone.
    // It dies with the group; closing its pipes comes a moment before it is a zombie.
    await expect.poll(() => isGone(childPid)).toBe(true);
  });

  it("caps a flood of output and says it was truncated", async () => {
    const r = await c.exec({ shell: "head -c 5000000 /dev/zero | tr '\\0' y", maxOutputBytes: 1000 });
    expect(r.output.length).toBe(1000);
    expect(r.truncated).toBe(true);
    expect(r.exitCode).toBe(0);
  });

  it("cancels a running command (AbortSignal) and kills it", async () => {
    const ac = new AbortController();
    let pid = 0;
    const p = c.exec({ shell: "sleep 300" }, { signal: ac.signal, onStart: (p) => ((pid = p), ac.abort()) });
    expect(await codeOf(p)).toBe("cancelled");
    // The kill is asynchronous in the agent: a request after the cancel is ordered after it.
    await c.request("stat", { path: "/workspace" });
    await c.exec({ argv: ["true"] });
    await expect.poll(() => isGone(pid)).toBe(true);
  });

  it("runs requests concurrently", async () => {
    const slow = c.exec({ shell: "sleep 1; echo slow" });
    const t0 = Date.now();
    const quick = await Promise.all(Array.from({ length: 20 }, (_, i) => c.request("stat", { path: "/workspace" }).then(() => i)));
    expect(quick).toHaveLength(20);
    expect(Date.now() - t0).toBeLessThan(1000); // stats did not wait behind the sleep
    expect((await slow).output.toString()).toBe("slow\n");
  });
});

describe("channel failures", () => {
  it("a request timeout rejects with `timeout` and cancels the command in the guest", async () => {
    // The timeout may fire before the command even started (a loaded machine): it must die anyway.
    // It is found by its distinctive command line, not by the `start` event the client may drop.
    expect(await codeOf(c.exec({ argv: ["sleep", "301"] }, { timeoutMs: 200 }))).toBe("timeout");
    await c.exec({ argv: ["true"] });
    await expect.poll(() => processesRunning(["sleep", "301"]), { timeout: 60_000 }).toEqual([]);
  });

  it("when the agent dies every pending request rejects with channel_closed, and so do later ones", async () => {
    const other = await startHostAgent();
    try {
      const client = await other.connect();
      const pending = client.exec({ shell: "sleep 300" });
      const p2 = client.request("stat", { path: "/workspace" });
      await p2;
      other.proc.kill("SIGKILL");
      expect(await codeOf(pending)).toBe(GuestErrorCode.ChannelClosed);
      expect(await codeOf(client.request("stat", { path: "/workspace" }))).toBe(GuestErrorCode.ChannelClosed);
    } finally {
      await other.close();
    }
  });

  it("garbage from a host ends only that session; the agent keeps serving", async () => {
    const { connect } = await import("node:net");
    const s = connect(agent.socket);
    s.resume(); // discard the agent's `ready`, so `close` can arrive
    await new Promise((resolve) => s.once("connect", resolve));
    s.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]));
    await new Promise((resolve) => s.once("close", resolve));
    const fresh = await agent.connect();
    expect((await fresh.request("stat", { path: "/workspace" })).value.type).toBe("dir");
  });
});
