/**
 * The guest's glob matcher: the same answers as the RegExp it replaced (glob semantics: `*` and `?`
 * stay in one directory, `**` crosses them, classes, braces), and no pattern from the model can
 * make it backtrack.
 */
import { compileGlob, literalPrefix, MAX_GLOB_PATTERN } from "../../src/guest/glob-match.ts";

const matches = (pattern: string, paths: string[]) => paths.filter((p) => compileGlob(pattern).test(p));

describe("compileGlob", () => {
  it("`*` and `?` stay in one directory; `**` and `**/` cross directories", () => {
    const paths = ["a.py", "src/a.py", "src/lib/b.py", "src/lib/b.pyc", ".hidden.py", "x/.y/z.py", "ab.py"];
    expect(matches("*.py", paths)).toEqual(["a.py", ".hidden.py", "ab.py"]);
    expect(matches("?.py", paths)).toEqual(["a.py"]);
    expect(matches("**/*.py", paths)).toEqual(["a.py", "src/a.py", "src/lib/b.py", ".hidden.py", "x/.y/z.py", "ab.py"]);
    expect(matches("src/**", paths)).toEqual(["src/a.py", "src/lib/b.py", "src/lib/b.pyc"]);
    expect(matches("src/**/b.py", paths)).toEqual(["src/lib/b.py"]);
    expect(matches("**", paths)).toEqual(paths);
    expect(matches("src/*", paths)).toEqual(["src/a.py"]);
  });

  it("classes (ranges, negation, never `/`) and nested braces", () => {
    const paths = ["a1.txt", "b2.txt", "c3.txt", "A1.txt", "a/.txt", "notes.md", "notes.txt", "lib/x.ts", "lib/x.tsx"];
    expect(matches("[a-b][0-9].txt", paths)).toEqual(["a1.txt", "b2.txt"]);
    expect(matches("[!a-b]?.txt", paths)).toEqual(["c3.txt", "A1.txt"]);
    expect(matches("a?.txt", paths)).toEqual(["a1.txt"]); // `?` does not match the `/` of a/.txt
    expect(matches("notes.{md,txt}", paths)).toEqual(["notes.md", "notes.txt"]);
    expect(matches("{lib/*.{ts,tsx},none}", paths)).toEqual(["lib/x.ts", "lib/x.tsx"]);
    expect(matches("notes.{md", paths)).toEqual(["notes.md"]); // an unclosed brace runs to the end
    expect(matches("[x", ["[x", "x"])).toEqual(["[x"]); // `[` without `]` is literal
    expect(matches("a}.txt", ["a}.txt"])).toEqual(["a}.txt"]);
    expect(matches("(a|b)+.txt", ["(a|b)+.txt", "a.txt"])).toEqual(["(a|b)+.txt"]); // regex syntax is literal
  });

  it("answers a backtracking bomb at once, on a long name and on many names", () => {
    const bomb = compileGlob("bomb/*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b");
    const long = `bomb/${"a".repeat(5000)}`;
    expect(bomb.test(long)).toBe(false); // a RegExp of this pattern does not return in any useful time
    expect(bomb.test(`${long}b`)).toBe(true);
    const names = Array.from({ length: 2000 }, (_, i) => `bomb/${"a".repeat(200 + (i % 50))}`);
    expect(names.filter((n) => bomb.test(n))).toEqual([]);
    const nested = compileGlob(`${"{a,".repeat(200)}b${"}".repeat(200)}*`);
    expect(nested.test("a".repeat(3000))).toBe(true);
    expect(nested.test(`c${"a".repeat(3000)}`)).toBe(false);
  });

  it("refuses a pattern too long to be a path", () => {
    expect(() => compileGlob("*".repeat(MAX_GLOB_PATTERN + 1))).toThrow(/longer than/);
  });

  it("literalPrefix splits off the fixed directories", () => {
    expect(literalPrefix("src/lib/**/*.ts")).toEqual({ dir: "src/lib", rest: "**/*.ts" });
    expect(literalPrefix("*.ts")).toEqual({ dir: "", rest: "*.ts" });
    expect(literalPrefix("a/{b,c}/d")).toEqual({ dir: "a", rest: "{b,c}/d" });
  });
});
