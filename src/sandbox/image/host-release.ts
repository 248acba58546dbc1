import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { ImageError, ImageErrorCode } from "./errors.ts";

/**
 * Which Debian release the host runs and where its apt fetches it from. The guest base is
 * debootstrapped from the host's own suite: the guest gets the host's Node, whose libraries need
 * the same glibc, libstdc++ and OpenSSL, so a bookworm base under trixie's Node does not start.
 */

export interface AptSource {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
  enabled: boolean;
}

/** The host's suite: `VIBEWRITER_DEBIAN_SUITE`, else VERSION_CODENAME from /etc/os-release. */
export async function hostSuite(env: NodeJS.ProcessEnv = process.env, osRelease = "/etc/os-release"): Promise<string> {
  if (env.VIBEWRITER_DEBIAN_SUITE) return env.VIBEWRITER_DEBIAN_SUITE;
  const text = await readFile(osRelease, "utf8").catch(() => "");
  const suite = parseOsRelease(text).VERSION_CODENAME;
  if (!suite) {
    throw new ImageError(ImageErrorCode.DownloadFailed, `${osRelease} names no VERSION_CODENAME (not Debian?); set VIBEWRITER_DEBIAN_SUITE`);
  }
  return suite;
}

/** KEY=value lines, values optionally quoted (os-release(5)). */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!.replace(/^(["'])(.*)\1$/, "$2");
  }
  return out;
}

/**
 * The mirror for `suite`: `VIBEWRITER_DEBIAN_MIRROR`, else the first enabled `deb` source of the
 * host's apt (one-line `.list` files and deb822 `.sources` files, as trixie writes them) that
 * serves exactly that suite (so not `-security`, `-updates` or a third-party repository).
 */
export async function debianMirror(suite: string, env: NodeJS.ProcessEnv = process.env, aptDir = "/etc/apt"): Promise<string> {
  if (env.VIBEWRITER_DEBIAN_MIRROR) return env.VIBEWRITER_DEBIAN_MIRROR;
  const sources = await readAptSources(aptDir);
  const hit = sources.find((s) => s.enabled && s.types.includes("deb") && s.suites.includes(suite) && s.components.includes("main"));
  const uri = hit?.uris.find((u) => /^https?:/.test(u));
  if (!uri) {
    throw new ImageError(ImageErrorCode.DownloadFailed, `no apt source for "${suite} main" in ${aptDir}/sources.list{,.d/}; set VIBEWRITER_DEBIAN_MIRROR`);
  }
  return uri;
}

/** Every source of `aptDir/sources.list` and `aptDir/sources.list.d/*.{list,sources}`, in apt's order. */
export async function readAptSources(aptDir = "/etc/apt"): Promise<AptSource[]> {
  const files = [join(aptDir, "sources.list")];
  const partsDir = join(aptDir, "sources.list.d");
  const parts = (await readdir(partsDir).catch(() => [] as string[])).filter((f) => /^[\w.-]+\.(list|sources)$/.test(f)).sort();
  files.push(...parts.map((f) => join(partsDir, f)));
  const out: AptSource[] = [];
  for (const file of files) {
    const text = await readFile(file, "utf8").catch(() => "");
    out.push(...(file.endsWith(".sources") ? parseDeb822Sources(text) : parseOneLineSources(text)));
  }
  return out;
}

/** `deb [options] uri suite component...` lines (sources.list(5), one-line style). */
export function parseOneLineSources(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    const m = /^(deb|deb-src)\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (m) out.push({ types: [m[1]!], uris: [m[2]!], suites: [m[3]!], components: m[4]!.split(/\s+/).filter(Boolean), enabled: true });
  }
  return out;
}

/** deb822 stanzas (sources.list(5), `.sources` files): Types, URIs, Suites, Components, Enabled. */
export function parseDeb822Sources(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields: Record<string, string> = {};
    let last = "";
    for (const line of stanza.split("\n")) {
      if (line.startsWith("#")) continue;
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (m) fields[(last = m[1]!.toLowerCase())] = m[2]!.trim();
      else if (/^\s/.test(line) && last) fields[last] += ` ${line.trim()}`; // folded continuation
    }
    if (!fields.types || !fields.uris) continue;
    const words = (v: string | undefined) => (v ?? "").split(/\s+/).filter(Boolean);
    out.push({
      types: words(fields.types),
      uris: words(fields.uris),
      suites: words(fields.suites),
      components: words(fields.components),
      enabled: !/^(no|false|0)$/i.test(fields.enabled ?? "yes"),
    });
  }
  return out;
}
