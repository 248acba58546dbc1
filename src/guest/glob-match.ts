/**
 * Glob patterns to RegExp, matched against `/`-separated relative paths: `**` crosses directories,
 * `*` and `?` do not, `[...]` / `[!...]` classes, `{a,b}` alternatives. Dot files match (as in
 * deepagents). Everything else is literal: the pattern is data, never handed to a shell.
 */
export function globToRegExp(pattern: string): RegExp {
  let re = "^";
  let depth = 0; // inside {...}
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") {
      if (pattern[i + 1] === "*") {
        i++;
        if (pattern[i + 1] === "/") {
          i++;
          re += "(?:.*/)?";
        } else re += ".*";
      } else re += "[^/]*";
    } else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const close = pattern.indexOf("]", i + 2);
      if (close === -1) re += "\\[";
      else {
        let body = pattern.slice(i + 1, close);
        const negate = body.startsWith("!") || body.startsWith("^");
        if (negate) body = body.slice(1);
        re += `[${negate ? "^" : ""}${body.replace(/[\\\]]/g, "\\$&")}]`;
        i = close;
      }
    } else if (c === "{") {
      depth++;
      re += "(?:";
    } else if (c === "}" && depth > 0) {
      depth--;
      re += ")";
    } else if (c === "," && depth > 0) re += "|";
    else re += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  while (depth-- > 0) re += ")";
  return new RegExp(`${re}$`, "s");
}

/** The directory part of a pattern before its first wildcard (`src/**\/*.ts` → `src`). */
export function literalPrefix(pattern: string): { dir: string; rest: string } {
  const parts = pattern.split("/");
  const fixed: string[] = [];
  while (parts.length > 1 && !/[*?[{]/.test(parts[0]!)) fixed.push(parts.shift()!);
  return { dir: fixed.join("/"), rest: parts.join("/") };
}
