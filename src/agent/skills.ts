import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { AgentError, AgentErrorCode } from "./errors.ts";

/** The built-in skills shipped with Vibewriter (`<repo>/skills`). */
export const BUILTIN_SKILLS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../skills");
/** Where skills live inside the sandbox: read-only to the model. */
export const SANDBOX_SKILLS_DIR = "/skills/";
/**
 * Used only when the sandbox cannot receive files in /skills/ (the microVM view makes /skills
 * read-only to every upload until it offers a host-only install): the skills go under the
 * workspace and the tool policy keeps the model from writing there.
 */
export const FALLBACK_SKILLS_DIR = "/workspace/skills/";

export const SKILL_LIMITS = { maxFileBytes: 1024 * 1024, maxFiles: 200, maxDescription: 1024 } as const;

export interface Skill {
  name: string;
  description: string;
  /** The folder on the host. */
  dir: string;
  /** Every file of the skill, path relative to the skill folder. */
  files: Array<{ path: string; content: Uint8Array }>;
}

export interface SkillWarning {
  path: string;
  message: string;
}

/** Same rule as deepagents / the Agent Skills spec: lowercase letters, digits, single hyphens. */
const NAME_RE = /^[\p{Ll}\p{Nd}]+(-[\p{Ll}\p{Nd}]+)*$/u;

/**
 * Parse and validate a SKILL.md. Throws `AgentError(BadSkill)` saying what is wrong: deepagents
 * itself would only print a console warning and drop the skill, so we check first and report.
 */
export function parseSkillMd(content: string, folderName: string, path: string): { name: string; description: string } {
  const bad = (why: string) => new AgentError(AgentErrorCode.BadSkill, `${path}: ${why}`);
  const match = /^---\s*\n([\s\S]*?)\n---\s*(\n|$)/.exec(content);
  if (!match) throw bad("no YAML frontmatter; SKILL.md must start with a '---' block holding name and description");
  let data: unknown;
  try {
    data = parseYaml(match[1] ?? "");
  } catch (cause) {
    throw new AgentError(AgentErrorCode.BadSkill, `${path}: the frontmatter is not valid YAML (${(cause as Error).message.split("\n")[0]})`, { cause });
  }
  if (!data || typeof data !== "object" || Array.isArray(data)) throw bad("the frontmatter must be a mapping with name and description");
  const fm = data as Record<string, unknown>;
  const name = typeof fm.name === "string" ? fm.name.trim() : "";
  const description = typeof fm.description === "string" ? fm.description.trim() : "";
  if (!name) throw bad("frontmatter has no 'name'");
  if (!description) throw bad("frontmatter has no 'description'");
  if (name.length > 64 || !NAME_RE.test(name)) throw bad(`name '${name}' must be 1-64 lowercase letters, digits and single hyphens`);
  if (name !== folderName) throw bad(`name '${name}' must equal its folder name '${folderName}'`);
  if (description.length > SKILL_LIMITS.maxDescription) throw bad(`description is longer than ${SKILL_LIMITS.maxDescription} characters`);
  return { name, description };
}

async function listFiles(dir: string, out: string[]): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name.startsWith(".") || e.name === "__pycache__" || e.name === "node_modules") continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) await listFiles(p, out);
    else if (e.isFile()) out.push(p);
  }
}

async function loadSkill(dir: string): Promise<Skill> {
  const folderName = dir.split(/[/\\]/).filter(Boolean).pop() ?? "";
  const mdPath = join(dir, "SKILL.md");
  let md: string;
  try {
    md = await readFile(mdPath, "utf8");
  } catch (cause) {
    throw new AgentError(AgentErrorCode.BadSkill, `${mdPath}: cannot read SKILL.md`, { cause });
  }
  const { name, description } = parseSkillMd(md, folderName, mdPath);
  const paths: string[] = [];
  await listFiles(dir, paths);
  if (paths.length > SKILL_LIMITS.maxFiles) throw new AgentError(AgentErrorCode.BadSkill, `${dir}: more than ${SKILL_LIMITS.maxFiles} files`);
  const files: Skill["files"] = [];
  for (const p of paths.sort()) {
    const s = await stat(p);
    if (s.size > SKILL_LIMITS.maxFileBytes) {
      throw new AgentError(AgentErrorCode.BadSkill, `${p}: larger than ${SKILL_LIMITS.maxFileBytes / 1024} KiB`);
    }
    files.push({ path: relative(dir, p).split("\\").join("/"), content: new Uint8Array(await readFile(p)) });
  }
  return { name, description, dir, files };
}

/**
 * Load skills from folders, in priority order (later folders override earlier ones by name). A
 * folder is either one skill (it holds SKILL.md) or a collection of skill sub-folders. A skill
 * that is malformed is skipped with a warning naming the file and the problem; a missing folder is
 * a warning too. Nothing here throws for a bad skill.
 */
export async function loadSkills(dirs: readonly string[]): Promise<{ skills: Skill[]; warnings: SkillWarning[] }> {
  const byName = new Map<string, Skill>();
  const warnings: SkillWarning[] = [];
  for (const root of dirs) {
    let candidates: string[];
    try {
      const st = await stat(root);
      if (!st.isDirectory()) throw new Error("not a folder");
      const hasOwn = await stat(join(root, "SKILL.md")).then(() => true, () => false);
      candidates = hasOwn
        ? [root]
        : (await readdir(root, { withFileTypes: true }))
            .filter((e) => e.isDirectory() && !e.name.startsWith("."))
            .map((e) => join(root, e.name))
            .sort();
    } catch (err) {
      warnings.push({ path: root, message: `skill folder ${root} cannot be read: ${(err as Error).message}` });
      continue;
    }
    for (const dir of candidates) {
      try {
        const skill = await loadSkill(dir);
        const prior = byName.get(skill.name);
        if (prior) warnings.push({ path: dir, message: `skill '${skill.name}' from ${dir} overrides the one from ${prior.dir}` });
        byName.set(skill.name, skill);
      } catch (err) {
        warnings.push({ path: dir, message: `skipped skill: ${(err as Error).message}` });
      }
    }
  }
  return { skills: [...byName.values()], warnings };
}

/**
 * The uploads that place skills in the sandbox at `<dir><name>/…`. In SKILL.md files, paths
 * written as `/skills/<skill>/` are rewritten to the actual folder so their commands stay right.
 */
export function skillUploads(skills: readonly Skill[], dir = SANDBOX_SKILLS_DIR): Array<[string, Uint8Array]> {
  const names = skills.map((s) => s.name.replace(/[-]/g, "\\-")).join("|");
  const rewrite = dir !== SANDBOX_SKILLS_DIR && names ? new RegExp(`${SANDBOX_SKILLS_DIR}(?=(${names})/)`, "g") : null;
  return skills.flatMap((s) =>
    s.files.map((f) => {
      let content = f.content;
      if (rewrite && f.path === "SKILL.md") content = new TextEncoder().encode(new TextDecoder().decode(content).replace(rewrite, dir));
      return [`${dir}${s.name}/${f.path}`, content] as [string, Uint8Array];
    }),
  );
}

/** A sandbox that can install files where the model may not write (host-only), if it offers it. */
interface InstallingSandbox {
  installFiles?(files: Array<[string, Uint8Array]>): Promise<Array<{ path: string; error: string | null }>>;
  uploadFiles?(files: Array<[string, Uint8Array]>): unknown;
}

/**
 * Copy skills into the sandbox. Prefers `/skills/` (through a host-only `installFiles` when the
 * sandbox has one, else `uploadFiles`); if the sandbox refuses /skills/ it falls back to
 * FALLBACK_SKILLS_DIR. Returns the folder used; throws `SandboxSetup` if neither works.
 */
export async function installSkills(
  sandbox: InstallingSandbox,
  skills: readonly Skill[],
): Promise<{ dir: string; fallback: boolean; reason?: string }> {
  if (skills.length === 0) return { dir: SANDBOX_SKILLS_DIR, fallback: false };
  const send = async (dir: string) => {
    const files = skillUploads(skills, dir);
    const fn = sandbox.installFiles && dir === SANDBOX_SKILLS_DIR ? sandbox.installFiles.bind(sandbox) : sandbox.uploadFiles?.bind(sandbox);
    if (!fn) throw new AgentError(AgentErrorCode.SandboxSetup, "the sandbox cannot receive files (no uploadFiles), so skills cannot be placed in it");
    const results = (await fn(files)) as Array<{ path: string; error: string | null }>;
    return results.filter((r) => r.error);
  };
  const failed = await send(SANDBOX_SKILLS_DIR);
  if (failed.length === 0) return { dir: SANDBOX_SKILLS_DIR, fallback: false };
  const reason = `the sandbox refused ${SANDBOX_SKILLS_DIR} (${failed[0]!.path}: ${failed[0]!.error})`;
  const again = await send(FALLBACK_SKILLS_DIR);
  if (again.length > 0) {
    throw new AgentError(
      AgentErrorCode.SandboxSetup,
      `could not place skills in the sandbox: ${reason}; and ${again.slice(0, 3).map((f) => `${f.path} (${f.error})`).join(", ")}`,
    );
  }
  return { dir: FALLBACK_SKILLS_DIR, fallback: true, reason };
}
