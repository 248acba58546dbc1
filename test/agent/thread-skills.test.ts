import { createHash } from "node:crypto";
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentErrorCode } from "../../src/agent/errors.ts";
import type { ArtifactPort } from "../../src/agent/ports.ts";
import { BUILTIN_SKILLS_DIR, loadSkills } from "../../src/agent/skills.ts";
import { materializeThreadSkills, storeThreadSkills, THREAD_SKILL_PATHS } from "../../src/agent/thread-skills.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";

let t: TestNats;
let artifacts: ArtifactPort;
let dir: string;
beforeAll(async () => {
  t = await startTestNats();
  artifacts = t.backbone.blobs;
});
afterAll(async () => {
  await t.close();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "vw-thread-skills-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const enc = new TextEncoder();

describe("thread skills", () => {
  it("stores a thread's skill folders and writes them back on another machine's disk, file for file", async () => {
    const mine = join(dir, "mine", "house-style");
    await mkdir(join(mine, "scripts"), { recursive: true });
    await writeFile(join(mine, "SKILL.md"), "---\nname: house-style\ndescription: Our house style.\n---\n# Style\n");
    await writeFile(join(mine, "scripts", "check.py"), "print('ok')\n");
    await mkdir(join(dir, "mine", "broken"), { recursive: true });
    await writeFile(join(dir, "mine", "broken", "SKILL.md"), "no frontmatter\n");

    const stored = await storeThreadSkills(artifacts, "ts-1", [BUILTIN_SKILLS_DIR, join(dir, "mine")]);
    expect(stored.skills.sort()).toEqual(["citation-ready-report", "financial-due-diligence", "house-style"]);
    expect(stored.warnings.map((w) => w.message).join("\n")).toMatch(/broken.*no YAML frontmatter/s);

    const into = join(dir, "worker");
    const dirs = await materializeThreadSkills(artifacts, "ts-1", into);
    expect(dirs.map((d) => d.slice(into.length + 1)).sort()).toEqual(["citation-ready-report", "financial-due-diligence", "house-style"]);
    expect(await readFile(join(into, "house-style", "scripts", "check.py"), "utf8")).toBe("print('ok')\n");
    // What the worker loads equals what the submitter had.
    const original = await loadSkills([BUILTIN_SKILLS_DIR, join(dir, "mine")]);
    const copied = await loadSkills(dirs);
    expect(copied.warnings).toEqual([]);
    const shape = (s: typeof copied.skills) =>
      s.map((k) => ({ name: k.name, description: k.description, files: k.files.map((f) => [f.path, Buffer.from(f.content).toString("base64")]) })).sort((a, b) => a.name.localeCompare(b.name));
    expect(shape(copied.skills)).toEqual(shape(original.skills));
  });

  it("a thread that stored no skills materializes none", async () => {
    expect(await materializeThreadSkills(artifacts, "ts-none", join(dir, "w"))).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
  });

  it("refuses a stored manifest that would write outside the folder, or whose bytes do not match, and writes nothing", async () => {
    const md = enc.encode("---\nname: evil\ndescription: x\n---\n");
    const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
    const put = async (thread: string, files: Array<{ path: string; content: Uint8Array; sha256?: string }>, name = "evil") => {
      for (const [n, f] of files.entries()) await artifacts.put(THREAD_SKILL_PATHS.file(thread, name, n), f.content);
      const manifest = [{ name, description: "x", files: files.map((f) => ({ path: f.path, bytes: f.content.length, sha256: f.sha256 ?? sha(f.content) })) }];
      await artifacts.put(THREAD_SKILL_PATHS.manifest(thread), enc.encode(JSON.stringify(manifest)));
    };
    await put("ts-escape", [{ path: "SKILL.md", content: md }, { path: "../../outside.txt", content: enc.encode("x") }]);
    await put("ts-abs", [{ path: "SKILL.md", content: md }, { path: "/etc/passwd", content: enc.encode("x") }]);
    await put("ts-name", [{ path: "SKILL.md", content: md }], "../up");
    await put("ts-digest", [{ path: "SKILL.md", content: md, sha256: "0".repeat(64) }]);
    await put("ts-nomd", [{ path: "README.md", content: md }]);

    const into = join(dir, "w");
    for (const [thread, why] of [
      ["ts-escape", /not a plain relative path/],
      ["ts-abs", /not a plain relative path/],
      ["ts-name", /is not a skill name/],
      ["ts-digest", /does not match its digest/],
      ["ts-nomd", /has no SKILL.md/],
    ] as const) {
      await expect(materializeThreadSkills(artifacts, thread, into)).rejects.toMatchObject({ code: AgentErrorCode.BadSkill, message: expect.stringMatching(why) });
    }
    expect(await readdir(dir)).toEqual([]);
  });
});
