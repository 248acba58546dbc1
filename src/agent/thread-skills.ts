/**
 * A queued thread's skills: `vibewriter submit --skills DIR` runs on another machine, where DIR
 * does not exist. The skills are stored with the thread as artifacts at submit time and written
 * back into a temporary folder by the worker that runs it.
 *
 * Layout: `threads/<thread>/skills.json` (the manifest: name, description, each file's path, size
 * and SHA-256) and `threads/<thread>/skills/<name>/<n>` (the n-th file's bytes; numbered, so a
 * file name the Object Store cannot spell is never a problem).
 *
 * Materializing trusts nothing it reads: names, paths, limits and digests are checked again as
 * `loadSkills` checks a local folder, and nothing is written outside the target folder.
 */
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { AgentError, AgentErrorCode } from "./errors.ts";
import type { ArtifactPort } from "./ports.ts";
import { loadSkills, parseSkillMd, SKILL_LIMITS, type Skill, type SkillWarning } from "./skills.ts";

export const THREAD_SKILL_PATHS = {
  manifest: (threadId: string) => `threads/${threadId}/skills.json`,
  file: (threadId: string, skill: string, n: number) => `threads/${threadId}/skills/${skill}/${n}`,
} as const;

/** At most this many skills per thread (each within SKILL_LIMITS). */
export const MAX_THREAD_SKILLS = 50;

interface ManifestSkill {
  name: string;
  description: string;
  files: Array<{ path: string; bytes: number; sha256: string }>;
}

/**
 * Load the skill folders (as `run --skills` does: a bad skill is skipped with a warning) and store
 * the good ones with the thread. Returns the stored skills' names and the warnings.
 */
export async function storeThreadSkills(
  artifacts: ArtifactPort,
  threadId: string,
  dirs: readonly string[],
): Promise<{ skills: string[]; warnings: SkillWarning[] }> {
  const { skills, warnings } = await loadSkills(dirs);
  await storeLoadedSkills(artifacts, threadId, skills);
  return { skills: skills.map((s) => s.name), warnings };
}

/** Store skills already loaded (files first, the manifest last: a half-stored set is never read). */
export async function storeLoadedSkills(artifacts: ArtifactPort, threadId: string, skills: readonly Skill[]): Promise<void> {
  if (skills.length === 0) return;
  if (skills.length > MAX_THREAD_SKILLS) {
    throw new AgentError(AgentErrorCode.BadSkill, `${skills.length} skills given; a thread takes at most ${MAX_THREAD_SKILLS}`);
  }
  const manifest: ManifestSkill[] = [];
  for (const s of skills) {
    const files: ManifestSkill["files"] = [];
    for (const [n, f] of s.files.entries()) {
      await artifacts.put(THREAD_SKILL_PATHS.file(threadId, s.name, n), f.content);
      files.push({ path: f.path, bytes: f.content.length, sha256: sha256(f.content) });
    }
    manifest.push({ name: s.name, description: s.description, files });
  }
  await artifacts.put(THREAD_SKILL_PATHS.manifest(threadId), new TextEncoder().encode(JSON.stringify(manifest, null, 2)));
}

/**
 * Write the thread's stored skills under `intoDir` (one sub-folder per skill) and return those
 * folders, for `createVibewriter({ skillDirs })`; [] when the thread stored none. Throws
 * `AgentError(BadSkill)` on anything malformed before writing a single file.
 */
export async function materializeThreadSkills(artifacts: ArtifactPort, threadId: string, intoDir: string): Promise<string[]> {
  const raw = await artifacts.get(THREAD_SKILL_PATHS.manifest(threadId));
  if (!raw) return [];
  const bad = (why: string) => new AgentError(AgentErrorCode.BadSkill, `thread ${threadId}'s stored skills: ${why}`);
  let manifest: unknown;
  try {
    manifest = JSON.parse(new TextDecoder().decode(raw));
  } catch (cause) {
    throw new AgentError(AgentErrorCode.BadSkill, `thread ${threadId}'s stored skills: the manifest is not JSON`, { cause });
  }
  if (!Array.isArray(manifest) || manifest.length > MAX_THREAD_SKILLS) throw bad(`the manifest must list at most ${MAX_THREAD_SKILLS} skills`);
  const root = resolve(intoDir);
  const planned: Array<{ dir: string; writes: Array<{ path: string; content: Uint8Array }> }> = [];
  const names = new Set<string>();
  for (const entry of manifest as ManifestSkill[]) {
    if (!entry || typeof entry.name !== "string" || !Array.isArray(entry.files)) throw bad("a manifest entry is not a skill");
    // The folder name is the skill's name: checked by the same rule as SKILL.md's `name` below.
    if (names.has(entry.name) || !/^[\p{Ll}\p{Nd}]+(-[\p{Ll}\p{Nd}]+)*$/u.test(entry.name) || entry.name.length > 64) {
      throw bad(`skill name ${JSON.stringify(entry.name).slice(0, 80)} is not a skill name (or repeated)`);
    }
    names.add(entry.name);
    if (entry.files.length > SKILL_LIMITS.maxFiles) throw bad(`skill ${entry.name} has more than ${SKILL_LIMITS.maxFiles} files`);
    const dir = join(root, entry.name);
    const writes: Array<{ path: string; content: Uint8Array }> = [];
    const paths = new Set<string>();
    for (const [n, f] of entry.files.entries()) {
      if (!f || typeof f.path !== "string" || !safeRelative(f.path) || paths.has(f.path)) {
        throw bad(`skill ${entry.name}: file path ${JSON.stringify(f?.path).slice(0, 120)} is not a plain relative path`);
      }
      paths.add(f.path);
      const target = resolve(dir, f.path);
      if (!target.startsWith(dir + sep)) throw bad(`skill ${entry.name}: ${f.path} leaves the skill's folder`);
      const content = await artifacts.get(THREAD_SKILL_PATHS.file(threadId, entry.name, n));
      if (!content) throw bad(`skill ${entry.name}: ${f.path} is missing from the store`);
      if (content.length > SKILL_LIMITS.maxFileBytes) throw bad(`skill ${entry.name}: ${f.path} is larger than ${SKILL_LIMITS.maxFileBytes / 1024} KiB`);
      if (sha256(content) !== f.sha256) throw bad(`skill ${entry.name}: ${f.path} does not match its digest`);
      writes.push({ path: target, content });
    }
    const md = writes.find((w) => relative(dir, w.path) === "SKILL.md");
    if (!md) throw bad(`skill ${entry.name} has no SKILL.md`);
    parseSkillMd(new TextDecoder().decode(md.content), entry.name, `${entry.name}/SKILL.md`);
    planned.push({ dir, writes });
  }
  for (const p of planned) {
    for (const w of p.writes) {
      await mkdir(dirname(w.path), { recursive: true });
      // `wx`: never through something already there (a symlink planted in the folder).
      await writeFile(w.path, w.content, { flag: "wx", mode: 0o644 });
    }
  }
  return planned.map((p) => p.dir);
}

/** `a/b.md`: no absolute path, no `..`, no empty or dot segments, no backslashes or NULs. */
function safeRelative(p: string): boolean {
  if (p === "" || p.length > 1024 || isAbsolute(p) || p.includes("\\") || p.includes("\0")) return false;
  return p.split("/").every((seg) => seg !== "" && seg !== "." && seg !== ".." && !seg.startsWith("."));
}

function sha256(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}
