/**
 * The contract test's generated world: a file tree (nested, spaces, unicode, dotfiles, regex
 * metacharacters in names, empty and binary files, directories named like files) and the
 * operations run against it (reads past the end, missing paths, directories as files, literal
 * greps full of metacharacters, globs with `**`, `?`, `[..]`, ambiguous and missing edits, writes
 * over files and directories, deletes). Deterministic for a seed, so a failure reproduces.
 *
 * Paths are written with `{R}` for the tree's root (each backend gets its own copy of the tree)
 * and `{r}` for the root relative to /workspace (relative paths).
 */

/** mulberry32: tiny, seedable, good enough to pick cases. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const some = <T>(r: Rand, xs: readonly T[], n: number): T[] => [...xs].sort(() => r() - 0.5).slice(0, n);

export interface Tree {
  /** Relative path → bytes. */
  files: Map<string, Buffer>;
  /** Every directory (relative), including empty ones. */
  dirs: string[];
}

const DIRS = ["sub", "sub/deep", "sub/deep/er", "with space", "ünï 文件", ".dot", "dir.txt", "empty", "sub/empty too", "a[1]"];
const NAMES = [
  "a.txt",
  "b.md",
  "notes.txt",
  "My Notes.md",
  "résumé 履歴書.txt",
  "🚀 launch.md",
  ".env",
  ".hidden.txt",
  "data.json",
  "script.py",
  "x[1].txt",
  "a.b+c(d)$.txt",
  "it's.txt",
  "-dash.txt",
  "UPPER.TXT",
  "no_ext",
  "tab\tname.txt",
  "q?.md",
  "star*.txt",
];
const LINES = [
  "alpha beta gamma",
  "needle in the haystack",
  "a.*b [x] (y) {z} ^$ |\\ + ?",
  "$(touch /tmp/pwned) `id`",
  "it's \"quoted\" 'single'",
  "ünïcødé ✓ 文件 🚀",
  "",
  "   ",
  "\tindented with a tab",
  "needle needle twice on a line",
  "trailing spaces   ",
  "-e starts like an option",
  "path/like/this.txt:12:colon",
  "x".repeat(3000),
];

function textContent(r: Rand): string {
  const kind = r();
  if (kind < 0.06) return "";
  if (kind < 0.1) return "   \n \n";
  const n = 1 + Math.floor(r() * 12);
  const lines = Array.from({ length: n }, () => pick(r, LINES));
  const eol = r() < 0.15 ? "\r\n" : "\n";
  return lines.join(eol) + (r() < 0.7 ? eol : "");
}

export function generateTree(r: Rand): Tree {
  const files = new Map<string, Buffer>();
  const dirs = [...DIRS];
  for (const dir of ["", ...DIRS.filter((d) => !d.includes("empty"))]) {
    for (const name of some(r, NAMES, 3 + Math.floor(r() * 4))) {
      files.set(dir ? `${dir}/${name}` : name, Buffer.from(textContent(r)));
    }
  }
  // Binary by extension (read as bytes; grep skips it) and binary by content (a NUL byte).
  const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]), Buffer.from("needle\n"), Buffer.from([255, 254, 0, 10])]);
  files.set("img.png", png);
  files.set("sub/photo.jpg", png);
  files.set("blob.dat", Buffer.from("\0\0\0needle\nmore\0"));
  files.set("many.txt", Buffer.from(Array.from({ length: 1200 }, (_, i) => `line ${i} needle-${i % 7}`).join("\n") + "\n"));
  files.set("empty.txt", Buffer.alloc(0));
  return { files, dirs };
}

export type Case =
  | { op: "read"; path: string; offset: number; limit: number }
  | { op: "readRaw"; path: string }
  | { op: "ls"; path: string }
  | { op: "glob"; pattern: string; path: string }
  | { op: "grep"; pattern: string; path: string; glob: string | null; maxCount: number | null }
  | { op: "write"; path: string; content: string }
  | { op: "edit"; path: string; old: string; new: string; all: boolean }
  | { op: "delete"; path: string };

const lineCount = (b: Buffer) => {
  const s = b.toString("utf8");
  return s === "" ? 0 : s.split("\n").length - (s.endsWith("\n") ? 1 : 0);
};

/** Read-only cases first (they all see the same tree), then mutations (each run on both copies). */
export function generateCases(r: Rand, tree: Tree): { reads: Case[]; mutations: Case[] } {
  const reads: Case[] = [];
  const files = [...tree.files.keys()];
  const text = files.filter((f) => !/\.(png|jpg)$/.test(f));

  // read: windows inside, at and past the end; zero and negative limits; fractions.
  for (const f of text) {
    const n = lineCount(tree.files.get(f)!);
    const windows: [number, number][] = [[0, 500], [0, 1], [1, 2], [Math.max(0, n - 1), 5], [n, 3], [n + 4, 10], [0, 0], [2.7, 1.5], [-3, 2]];
    for (const [offset, limit] of some(r, windows, 3)) reads.push({ op: "read", path: `{R}/${f}`, offset, limit });
  }
  reads.push({ op: "read", path: "{R}/many.txt", offset: 1100, limit: 500 });
  reads.push({ op: "read", path: "{R}/many.txt", offset: 0, limit: 500 });
  reads.push({ op: "read", path: "{R}/img.png", offset: 0, limit: 500 });
  reads.push({ op: "read", path: "{R}/missing.txt", offset: 0, limit: 500 });
  reads.push({ op: "read", path: "{R}/missing.png", offset: 0, limit: 500 });
  reads.push({ op: "read", path: "{R}/nope/deeper.md", offset: 0, limit: 10 });
  reads.push({ op: "read", path: "{R}/sub", offset: 0, limit: 500 });
  reads.push({ op: "read", path: "{R}/dir.txt", offset: 0, limit: 500 });
  reads.push({ op: "read", path: "{r}/a.txt", offset: 0, limit: 500 });
  reads.push({ op: "read", path: "{R}/sub/../notes.txt", offset: 0, limit: 500 });
  for (const f of some(r, files, 6)) reads.push({ op: "readRaw", path: `{R}/${f}` });
  reads.push({ op: "readRaw", path: "{R}/missing.txt" });

  // ls: every directory, the root (with and without a trailing slash), missing, a file, relative.
  for (const d of tree.dirs) reads.push({ op: "ls", path: `{R}/${d}` });
  reads.push({ op: "ls", path: "{R}" }, { op: "ls", path: "{R}/" }, { op: "ls", path: "{R}/missing" }, { op: "ls", path: "{R}/a.txt" }, { op: "ls", path: "{R}/sub/" });

  // glob: patterns over names, depths and classes, from several bases.
  const patterns = [
    "*",
    "**",
    "**/*",
    "*.txt",
    "**/*.md",
    "**/*.txt",
    "sub/**",
    "sub/*",
    "sub/**/*.txt",
    "**/deep/**",
    "?.txt",
    "?.*",
    "[a-c]*",
    "[.]*",
    ".*",
    "**/.*",
    "*[1]*",
    "x[[]1].txt",
    "a.b+c(d)$.txt",
    "**/it's.txt",
    "**/résumé*",
    "*e*",
    "dir.txt",
    "**/empty*",
    "*/*/*",
    "nomatch*",
    "**/*.TXT",
    "with space/*",
    // Where our meaning differs on purpose (see contract-compare.ts): braces, [!…], absolute.
    "*.{md,txt}",
    "[!a-m]*",
    "{R}/sub/*",
  ];
  for (const base of ["{R}", "{R}/", "{R}/sub", "{R}/with space", "{R}/missing", "{R}/a.txt"]) {
    for (const pattern of base === "{R}" ? patterns : some(r, patterns, 3)) reads.push({ op: "glob", pattern, path: base });
  }

  // grep: literal patterns (metacharacters are data), with and without a file-name glob and a cap.
  const greps = ["needle", "a.*b", "[x]", "(y) {z}", "^$", "|\\", "$(touch", "`id`", "it's", '"quoted"', "ünïcødé", "文件 🚀", "-e", "needle-3", "twice", "not-there-at-all", "12:colon", "\tindented", "  "];
  for (const pattern of greps) {
    reads.push({ op: "grep", pattern, path: "{R}", glob: null, maxCount: null });
    const path = pick(r, ["{R}/sub", "{R}/with space", "{R}/a.txt", "{R}/many.txt", "{R}/missing", "{R}/"]);
    const glob = pick(r, [null, "*.txt", "*.md", "*", "*.{md,txt}", "[a-m]*", "?.txt", ".*"]);
    reads.push({ op: "grep", pattern, path, glob, maxCount: null });
  }
  reads.push({ op: "grep", pattern: "needle", path: "{R}/many.txt", glob: null, maxCount: 5 });
  reads.push({ op: "grep", pattern: "needle\nalpha", path: "{R}", glob: null, maxCount: null });
  reads.push({ op: "grep", pattern: "", path: "{R}/sub", glob: null, maxCount: null });
  reads.push({ op: "grep", pattern: "needle", path: "{R}/blob.dat", glob: null, maxCount: null });
  reads.push({ op: "grep", pattern: "needle", path: "{R}/img.png", glob: null, maxCount: null });

  // Mutations, each on a fresh tree state per backend (the two copies stay in step).
  const mutations: Case[] = [];
  const editable = text.filter((f) => tree.files.get(f)!.length > 0 && f !== "blob.dat");
  for (const f of some(r, editable, 10)) {
    const content = tree.files.get(f)!.toString("utf8");
    const line = pick(r, content.split("\n").filter((l) => l.trim().length > 3)) ?? "alpha";
    const word = line.slice(0, Math.min(line.length, 5 + Math.floor(r() * 10)));
    mutations.push({ op: "edit", path: `{R}/${f}`, old: word, new: pick(r, ["X", "", "$& `id` '\"", "ünï\nmulti\nline", word]), all: r() < 0.5 });
  }
  mutations.push(
    { op: "edit", path: "{R}/sub/deep/er/nowhere.txt", old: "a", new: "b", all: false },
    { op: "edit", path: "{R}/many.txt", old: "needle-3", new: "N3", all: false },
    { op: "edit", path: "{R}/many.txt", old: "needle-3", new: "N3", all: true },
    { op: "edit", path: "{R}/many.txt", old: "line 7 ", new: "line 7 ", all: false },
    { op: "edit", path: "{R}/many.txt", old: "needle-1", new: "needle-1", all: false },
    { op: "edit", path: "{R}/many.txt", old: "not in the file", new: "x", all: false },
    { op: "edit", path: "{R}/many.txt", old: "", new: "x", all: false },
    { op: "edit", path: "{R}/empty.txt", old: "", new: "filled\n", all: false },
    { op: "edit", path: "{R}/sub", old: "a", new: "b", all: false },
    { op: "write", path: "{R}/new.txt", content: "fresh\n" },
    { op: "write", path: "{R}/new dir/ünï/deep file.md", content: "# deep\n" },
    { op: "write", path: "{R}/a.txt", content: "overwritten\n" },
    { op: "write", path: "{R}/empty-written.txt", content: "" },
    { op: "write", path: "{R}/pic.png", content: Buffer.from([1, 2, 3, 0, 255]).toString("base64") },
    { op: "write", path: "{R}/sub", content: "onto a directory" },
    { op: "write", path: "{r}/relative.txt", content: "relative\n" },
    { op: "write", path: "{R}/it's \"quoted\" $(id).txt", content: "$(id)\n" },
    { op: "delete", path: "{R}/b.md" },
    { op: "delete", path: "{R}/sub/deep" },
    { op: "delete", path: "{R}/missing.txt" },
    { op: "delete", path: "{R}/empty" },
  );
  return { reads, mutations };
}

export function resolveCase(c: Case, root: string): Case {
  const rel = root.replace(/^\/workspace\//, "");
  const sub = (p: string) => p.replaceAll("{R}", root).replaceAll("{r}", rel);
  return c.op === "glob" ? { ...c, pattern: sub(c.pattern), path: sub(c.path) } : ({ ...c, path: sub(c.path) } as Case);
}
