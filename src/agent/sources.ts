import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { AgentError, AgentErrorCode } from "./errors.ts";
import { classify, extractSourceText, type SourceKind } from "./extract-text.ts";
import type { ArtifactPort } from "./ports.ts";

/** Limits on what `--sources` accepts; over them the file is refused, never truncated. */
export interface SourceLimits {
  maxFileBytes: number;
  maxTextChars: number;
  maxFiles: number;
}
export const SOURCE_LIMITS: Readonly<SourceLimits> = {
  maxFileBytes: 20 * 1024 * 1024,
  maxTextChars: 2_000_000,
  maxFiles: 500,
};

/** Where sources live in the Object Store and in the sandbox. */
export const SOURCE_PATHS = {
  artifact: (id: string) => `sources/${id}`,
  threadManifest: (threadId: string) => `threads/${threadId}/sources.json`,
  sandboxDir: "/workspace/sources",
  sandboxFile: (id: string) => `/workspace/sources/${id}.txt`,
  sandboxIndex: "/workspace/sources/index.json",
} as const;

export interface SourceInfo {
  /** Stable, content-derived: the first 12 hex digits of the SHA-256 of the original bytes. */
  id: string;
  /** Where it came from: a path relative to the sources folder, or a URL. */
  origin: string;
  kind: SourceKind;
  title?: string;
  bytes: number;
  chars: number;
}

export interface Source extends SourceInfo {
  text: string;
}

export function sourceIdFor(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex").slice(0, 12);
}

/** Turn one file's bytes into a source, or say exactly why not. */
export async function sourceFromBytes(origin: string, bytes: Uint8Array, limits: SourceLimits = SOURCE_LIMITS): Promise<Source> {
  if (bytes.length === 0) throw new AgentError(AgentErrorCode.BadSource, `${origin}: empty file`);
  if (bytes.length > limits.maxFileBytes) {
    throw new AgentError(
      AgentErrorCode.BadSource,
      `${origin}: too large (${(bytes.length / 1048576).toFixed(1)} MiB; the limit is ${limits.maxFileBytes / 1048576} MiB)`,
    );
  }
  const kind = classify(origin, bytes);
  if (typeof kind !== "string") throw new AgentError(AgentErrorCode.BadSource, `${origin}: refused, ${kind.detail}`);
  let extracted: { text: string; title?: string };
  try {
    extracted = await extractSourceText(kind, bytes);
  } catch (cause) {
    throw new AgentError(AgentErrorCode.BadSource, `${origin}: could not read the ${kind} file`, { cause });
  }
  if (!extracted.text.trim()) throw new AgentError(AgentErrorCode.BadSource, `${origin}: no text could be extracted`);
  if (extracted.text.length > limits.maxTextChars) {
    throw new AgentError(
      AgentErrorCode.BadSource,
      `${origin}: too much text (${extracted.text.length} characters; the limit is ${limits.maxTextChars})`,
    );
  }
  return {
    id: sourceIdFor(bytes),
    origin,
    kind,
    ...(extracted.title ? { title: extracted.title } : {}),
    bytes: bytes.length,
    chars: extracted.text.length,
    text: extracted.text,
  };
}

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    if (e.name.startsWith(".")) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (e.isFile()) out.push(p);
  }
}

/**
 * Read every file under `dir` (recursively, dotfiles skipped) as a source. All-or-nothing: if any
 * file is binary, huge or unreadable the whole folder is refused with one message that lists
 * each bad file, before anything is stored, so a run never starts on half its sources.
 */
export async function loadSourcesDir(dir: string, limits: SourceLimits = SOURCE_LIMITS): Promise<Source[]> {
  let st;
  try {
    st = await stat(dir);
  } catch (cause) {
    throw new AgentError(AgentErrorCode.BadSource, `sources folder ${dir} does not exist or cannot be read`, { cause });
  }
  if (!st.isDirectory()) throw new AgentError(AgentErrorCode.BadSource, `sources path ${dir} is not a folder`);
  const files: string[] = [];
  await walk(dir, files);
  if (files.length === 0) throw new AgentError(AgentErrorCode.BadSource, `sources folder ${dir} has no files`);
  if (files.length > limits.maxFiles) {
    throw new AgentError(AgentErrorCode.BadSource, `sources folder ${dir} has ${files.length} files; the limit is ${limits.maxFiles}`);
  }
  const sources: Source[] = [];
  const problems: string[] = [];
  const causes: unknown[] = [];
  const seen = new Set<string>();
  for (const file of files) {
    const origin = relative(dir, file);
    try {
      const s = await stat(file);
      if (s.size > limits.maxFileBytes) {
        throw new AgentError(
          AgentErrorCode.BadSource,
          `${origin}: too large (${(s.size / 1048576).toFixed(1)} MiB; the limit is ${limits.maxFileBytes / 1048576} MiB)`,
        );
      }
      const source = await sourceFromBytes(origin, new Uint8Array(await readFile(file)), limits);
      if (seen.has(source.id)) continue; // same bytes twice: one source
      seen.add(source.id);
      sources.push(source);
    } catch (err) {
      problems.push(AgentError.isInstance(err) ? err.message : `${origin}: ${(err as Error).message}`);
      causes.push(err);
    }
  }
  if (problems.length > 0) {
    throw new AgentError(
      AgentErrorCode.BadSource,
      `refused the sources folder ${dir}; fix or remove these files and run again:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
      { cause: causes.length === 1 ? causes[0] : new AggregateError(causes) },
    );
  }
  return sources;
}

export function sourceInfo(s: Source): SourceInfo {
  const { text: _text, ...info } = s;
  return info;
}

/**
 * Store sources as artifacts (`sources/<id>`, the extracted text, content-addressed so storing
 * twice is harmless) and add them to the thread's manifest.
 */
export async function storeSources(
  artifacts: ArtifactPort,
  threadId: string,
  sources: readonly Source[],
  /** Runs inside the same turn, with the updated manifest (e.g. to refresh the sandbox's index). */
  then?: (infos: SourceInfo[]) => Promise<void>,
): Promise<SourceInfo[]> {
  // The manifest is read-modify-write: parallel fetches in one process take turns.
  const prior = manifestLocks.get(threadId) ?? Promise.resolve();
  const run = prior.then(async () => {
    const infos = await storeSourcesNow(artifacts, threadId, sources);
    await then?.(infos);
    return infos;
  });
  const settled = run.then(() => {}, () => {});
  manifestLocks.set(threadId, settled);
  void settled.then(() => {
    if (manifestLocks.get(threadId) === settled) manifestLocks.delete(threadId);
  });
  return run;
}

const manifestLocks = new Map<string, Promise<void>>();

async function storeSourcesNow(artifacts: ArtifactPort, threadId: string, sources: readonly Source[]): Promise<SourceInfo[]> {
  const enc = new TextEncoder();
  for (const s of sources) await artifacts.put(SOURCE_PATHS.artifact(s.id), enc.encode(s.text));
  const manifest = await readSourceManifest(artifacts, threadId);
  const byId = new Map(manifest.map((m) => [m.id, m]));
  for (const s of sources) if (!byId.has(s.id)) byId.set(s.id, sourceInfo(s));
  const merged = [...byId.values()];
  await artifacts.put(SOURCE_PATHS.threadManifest(threadId), enc.encode(JSON.stringify(merged, null, 2)));
  return merged;
}

export async function readSourceManifest(artifacts: ArtifactPort, threadId: string): Promise<SourceInfo[]> {
  const raw = await artifacts.get(SOURCE_PATHS.threadManifest(threadId));
  if (!raw) return [];
  return JSON.parse(new TextDecoder().decode(raw)) as SourceInfo[];
}

/** The stored texts of `infos` as `id → text` (one listed but not stored is left out). */
export async function readSourceTexts(artifacts: ArtifactPort, infos: readonly SourceInfo[]): Promise<Map<string, string>> {
  const texts = new Map<string, string>();
  for (const info of infos) {
    const raw = await artifacts.get(SOURCE_PATHS.artifact(info.id));
    if (raw) texts.set(info.id, new TextDecoder().decode(raw));
  }
  return texts;
}

/** The files that place sources in the sandbox: one `.txt` per source plus `index.json`. */
export function sourceUploads(infos: readonly SourceInfo[], texts: ReadonlyMap<string, string>): Array<[string, Uint8Array]> {
  const enc = new TextEncoder();
  const uploads: Array<[string, Uint8Array]> = [];
  for (const info of infos) {
    const text = texts.get(info.id);
    if (text !== undefined) uploads.push([SOURCE_PATHS.sandboxFile(info.id), enc.encode(text)]);
  }
  const index = infos.map((i) => ({ id: i.id, origin: i.origin, title: i.title ?? null, kind: i.kind, file: SOURCE_PATHS.sandboxFile(i.id) }));
  uploads.push([SOURCE_PATHS.sandboxIndex, enc.encode(JSON.stringify(index, null, 2))]);
  return uploads;
}
