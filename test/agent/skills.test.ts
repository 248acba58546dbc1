import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentErrorCode, AgentError } from "../../src/agent/errors.ts";
import { BUILTIN_SKILLS_DIR, loadSkills, parseSkillMd, skillUploads } from "../../src/agent/skills.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "vw-skills-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function skill(name: string, md: string, files: Record<string, string> = {}) {
  await mkdir(join(dir, name), { recursive: true });
  await writeFile(join(dir, name, "SKILL.md"), md);
  for (const [p, c] of Object.entries(files)) {
    await mkdir(join(dir, name, p, ".."), { recursive: true });
    await writeFile(join(dir, name, p), c);
  }
}

describe("skills", () => {
  it("loads the built-in skills with their scripts", async () => {
    const { skills, warnings } = await loadSkills([BUILTIN_SKILLS_DIR]);
    expect(warnings).toEqual([]);
    expect(skills.map((s) => s.name).sort()).toEqual(["citation-ready-report", "financial-due-diligence"]);
    const paths = skillUploads(skills).map(([p]) => p);
    expect(paths).toContain("/skills/financial-due-diligence/scripts/extract_facts.py");
    expect(paths).toContain("/skills/citation-ready-report/scripts/check_report.py");
    expect(paths).toContain("/skills/citation-ready-report/SKILL.md");
  });

  it("skips a malformed SKILL.md with a warning that says what is wrong, and keeps the good ones", async () => {
    await skill("good-one", "---\nname: good-one\ndescription: Does good things.\n---\n# Good\n", { "run.py": "print(1)" });
    await skill("no-frontmatter", "# Just a heading\n");
    await skill("bad-yaml", "---\nname: [unclosed\ndescription: x\n---\n");
    await skill("wrong-name", "---\nname: other-name\ndescription: x\n---\n");
    await skill("no-description", "---\nname: no-description\n---\n");
    await mkdir(join(dir, "no-skill-md"));
    const { skills, warnings } = await loadSkills([dir, join(dir, "missing-folder")]);
    expect(skills.map((s) => s.name)).toEqual(["good-one"]);
    const text = warnings.map((w) => w.message).join("\n");
    expect(text).toMatch(/bad-yaml\/SKILL\.md: the frontmatter is not valid YAML/);
    expect(text).toMatch(/no-frontmatter\/SKILL\.md: no YAML frontmatter/);
    expect(text).toMatch(/wrong-name\/SKILL\.md: name 'other-name' must equal its folder name 'wrong-name'/);
    expect(text).toMatch(/no-description\/SKILL\.md: frontmatter has no 'description'/);
    expect(text).toMatch(/no-skill-md\/SKILL\.md: cannot read SKILL\.md/);
    expect(text).toMatch(/missing-folder cannot be read/);
    expect(warnings).toHaveLength(6);
  });

  it("lets a user skill folder override a built-in one by name, with a warning", async () => {
    await skill("citation-ready-report", "---\nname: citation-ready-report\ndescription: Mine.\n---\n");
    const { skills, warnings } = await loadSkills([BUILTIN_SKILLS_DIR, dir]);
    expect(skills.find((s) => s.name === "citation-ready-report")!.description).toBe("Mine.");
    expect(warnings[0]!.message).toContain("overrides");
  });

  it("parseSkillMd throws a typed error", () => {
    let err: unknown;
    try {
      parseSkillMd("---\nname: Bad_Name\ndescription: d\n---\n", "Bad_Name", "/x/SKILL.md");
    } catch (e) {
      err = e;
    }
    expect(AgentError.isInstance(err, AgentErrorCode.BadSkill)).toBe(true);
    expect((err as Error).message).toContain("lowercase");
  });
});
