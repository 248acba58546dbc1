import { createHash } from "node:crypto";
import type { FileUploadResponse, SandboxBackendProtocolV2 } from "deepagents";
import { AgentError, AgentErrorCode } from "./errors.ts";
import { EventType } from "../nats/index.ts";
import type { EmitEvent } from "./events.ts";
import type { AgentBackbone } from "./ports.ts";
import { BUILTIN_SKILLS_DIR, installSkills, loadSkills, SANDBOX_SKILLS_DIR, skillUploads, type Skill } from "./skills.ts";
import { sourceUploads, type Source } from "./sources.ts";
import { ThreadSources } from "./thread-sources.ts";

function shortHash(s: string): string {
  return createHash("sha256").update(s).digest("hex").slice(0, 12);
}

/**
 * Put what the thread needs into its sandbox: the skills (built-in, then the user's folders;
 * malformed ones skipped with a `skill.skipped` event) and the thread's sources (new ones stored
 * as artifacts first, then every source of the thread placed under /workspace/sources/). Runs on
 * every start, so a resumed thread in a new VM has them too; the event ids are stable, so the
 * repeats are deduplicated in the log. `replacementSetup` puts the same files into a VM that
 * replaces this one mid-run (its /workspace comes back from the store; /skills does not).
 */
export async function prepareSandbox(args: {
  sandbox: SandboxBackendProtocolV2;
  backbone: AgentBackbone;
  threadId: string;
  emit: EmitEvent;
  skillDirs: readonly string[];
  newSources: readonly Source[];
}): Promise<{ skillsDir: string; sources: ThreadSources; replacementSetup: (sandbox: PlacingSandbox) => Promise<void> }> {
  const { sandbox, backbone, threadId, emit, newSources } = args;
  const { skills, warnings } = await loadSkills([BUILTIN_SKILLS_DIR, ...args.skillDirs]);
  for (const w of warnings) {
    await emit({ id: `setup:skill:${shortHash(w.path + w.message)}`, type: EventType.SkillSkipped, agent: "main", data: { path: w.path, message: w.message } });
  }
  const installed = await installSkills(sandbox as never, skills);
  const skillsDir = installed.dir;
  if (installed.fallback) {
    await emit({ id: `setup:skills-dir:${skillsDir}`, type: EventType.Warning, agent: "main", data: { message: `skills placed in ${skillsDir}: ${installed.reason}` } });
  }
  for (const s of skills) {
    await emit({
      id: `setup:skill:${s.name}:${shortHash(s.files.map((f) => f.path).join())}`,
      type: EventType.SkillLoaded,
      agent: "main",
      data: { name: s.name, description: s.description, files: s.files.length, path: `${skillsDir}${s.name}/SKILL.md` },
    });
  }

  // The run's one read of the thread's sources; the tools are handed this set.
  const sources = await ThreadSources.load(backbone.blobs, threadId);
  if (newSources.length > 0) {
    await sources.add(newSources);
    for (const s of newSources) {
      await emit({ id: `setup:source:${s.id}`, type: EventType.SourceStored, agent: "main", data: { id: s.id, origin: s.origin, kind: s.kind, chars: s.chars, title: s.title ?? null } });
    }
  }
  if (sources.infos.length > 0) await upload(sandbox, sourceUploads(sources.infos, sources.texts), "sources");
  const replacementSetup = async (fresh: PlacingSandbox): Promise<void> => {
    await placeSkills(fresh, skills, skillsDir);
    // The sources as they are now (`sources` follows what the run stored since): an index from the
    // run's start would overwrite the fuller one the replacement's /workspace brought back.
    if (sources.infos.length > 0) await upload(fresh, sourceUploads(sources.infos, sources.texts), "sources");
  };
  return { skillsDir, sources, replacementSetup };
}

/** What a replacement VM's setup writes through: the backend itself, under the thread's wrapper. */
export interface PlacingSandbox {
  uploadFiles(files: Array<[string, Uint8Array]>): Promise<FileUploadResponse[]>;
  installFiles?(files: Array<[string, Uint8Array]>): Promise<FileUploadResponse[]>;
}

/** The skills again, where the first VM got them (read-only /skills/, or the fallback folder). */
async function placeSkills(sandbox: PlacingSandbox, skills: readonly Skill[], dir: string): Promise<void> {
  if (skills.length === 0) return;
  const files = skillUploads(skills, dir);
  const install = dir === SANDBOX_SKILLS_DIR && sandbox.installFiles ? sandbox.installFiles.bind(sandbox) : sandbox.uploadFiles.bind(sandbox);
  const failed = (await install(files)).filter((r) => r.error);
  if (failed.length > 0) {
    throw new AgentError(AgentErrorCode.SandboxSetup, `could not place skills in the new VM: ${failed.slice(0, 3).map((f) => `${f.path} (${f.error})`).join(", ")}`);
  }
}

async function upload(sandbox: Pick<SandboxBackendProtocolV2, "uploadFiles">, files: Array<[string, Uint8Array]>, what: string): Promise<void> {
  if (!sandbox.uploadFiles) throw new AgentError(AgentErrorCode.SandboxSetup, `the sandbox cannot receive files (no uploadFiles), so ${what} cannot be placed in it`);
  const results = await sandbox.uploadFiles(files);
  const failed = results.filter((r) => r.error);
  if (failed.length > 0) {
    throw new AgentError(
      AgentErrorCode.SandboxSetup,
      `could not place ${what} in the sandbox: ${failed.slice(0, 5).map((f) => `${f.path} (${f.error})`).join(", ")}`,
    );
  }
}
