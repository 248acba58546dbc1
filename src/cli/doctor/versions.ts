/** Version strings as printed by the tools doctor checks, and comparisons between them. */

/** "v2.9.10", "2.10.27-beta", "QEMU emulator version 7.2.19 (Debian …)" → [2, 9, 10] … */
export function parseVersion(text: string): [number, number, number] | undefined {
  const m = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

/** Whether `version` is at least `minimum` (both as version strings). False when unparseable. */
export function atLeast(version: string, minimum: string): boolean {
  const v = parseVersion(version);
  const min = parseVersion(minimum);
  if (!v || !min) return false;
  for (let i = 0; i < 3; i++) {
    if (v[i]! !== min[i]!) return v[i]! > min[i]!;
  }
  return true;
}

/** The first line of `qemu-system-x86_64 --version`: "QEMU emulator version 7.2.19 (…)" → "7.2.19". */
export function qemuVersionFrom(output: string): string | undefined {
  const m = /QEMU emulator version (\d+\.\d+(?:\.\d+)?)/.exec(output);
  return m?.[1];
}
