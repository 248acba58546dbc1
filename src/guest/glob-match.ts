/**
 * Glob patterns matched against `/`-separated relative paths: `**` crosses directories, `*` and
 * `?` do not, `[...]` / `[!...]` classes (ranges allowed; never `/`), `{a,b}` alternatives. Dot
 * files match (as in deepagents). Everything else is literal: the pattern is data, never handed to
 * a shell.
 *
 * Patterns come from the model, so matching must not backtrack: a pattern compiles to a
 * Thompson NFA (one node per pattern element) that is run over the path with a set of states,
 * O(path length × pattern length) whatever the pattern (`*a*a*a*a*a*a*b` against a long name
 * included). A RegExp here froze the agent's only thread.
 */

import { bad } from "./args.ts";

/** Longest pattern accepted: a bound on the NFA, so on the work per path. */
export const MAX_GLOB_PATTERN = 4096;

export interface GlobMatcher {
  test(path: string): boolean;
}

interface Edge {
  accepts(code: number): boolean;
  to: number;
}

interface NfaNode {
  eps: number[];
  edges: Edge[];
}

type Item =
  | { kind: "char"; code: number }
  | { kind: "any" }
  | { kind: "class"; negate: boolean; ranges: [number, number][] }
  | { kind: "star" }
  | { kind: "globstar" }
  | { kind: "dirs" } // `**/`: zero or more whole directories
  | { kind: "alt"; options: Item[][] };

const SLASH = 0x2f;
const notSlash = (c: number) => c !== SLASH;
const anything = () => true;

export function compileGlob(pattern: string): GlobMatcher {
  if (pattern.length > MAX_GLOB_PATTERN) throw bad(`glob pattern longer than ${MAX_GLOB_PATTERN} characters`);
  const nodes: NfaNode[] = [{ eps: [], edges: [] }]; // node 0: accept
  const node = (): number => nodes.push({ eps: [], edges: [] }) - 1;

  // Built right to left: each item is compiled with the node that follows it.
  const sequence = (items: Item[], next: number): number => {
    for (let i = items.length - 1; i >= 0; i--) next = element(items[i]!, next);
    return next;
  };
  const element = (item: Item, next: number): number => {
    const n = node();
    const at = nodes[n]!;
    switch (item.kind) {
      case "char":
        at.edges.push({ accepts: (c) => c === item.code, to: next });
        break;
      case "any":
        at.edges.push({ accepts: notSlash, to: next });
        break;
      case "class": {
        const inRanges = (c: number) => item.ranges.some(([lo, hi]) => c >= lo && c <= hi);
        at.edges.push({ accepts: (c) => c !== SLASH && inRanges(c) !== item.negate, to: next });
        break;
      }
      case "star":
        at.eps.push(next);
        at.edges.push({ accepts: notSlash, to: n });
        break;
      case "globstar":
        at.eps.push(next);
        at.edges.push({ accepts: anything, to: n });
        break;
      case "dirs": {
        const inside = node();
        at.eps.push(next, inside);
        nodes[inside]!.edges.push({ accepts: anything, to: inside }, { accepts: (c) => c === SLASH, to: next });
        break;
      }
      case "alt":
        for (const option of item.options) at.eps.push(sequence(option, next));
        break;
    }
    return n;
  };
  const start = sequence(parse(pattern), 0);

  const seen = new Uint32Array(nodes.length);
  let stamp = 0;
  const close = (states: number[]): number[] => {
    stamp++;
    const out: number[] = [];
    const stack = [...states];
    while (stack.length > 0) {
      const s = stack.pop()!;
      if (seen[s] === stamp) continue;
      seen[s] = stamp;
      out.push(s);
      for (const e of nodes[s]!.eps) if (seen[e] !== stamp) stack.push(e);
    }
    return out.sort((a, b) => a - b);
  };

  // The NFA's state sets are turned into DFA states lazily and remembered (bounded), so matching
  // many paths costs one map lookup per character once the common states are known.
  const dfa = new Map<string, DfaState>();
  const dfaState = (set: number[]): DfaState => {
    const key = set.join(",");
    let d = dfa.get(key);
    if (!d) {
      d = { set, accept: set[0] === 0, next: new Map() };
      if (dfa.size < MAX_DFA_STATES) dfa.set(key, d);
    }
    return d;
  };
  const initial = dfaState(close([start]));

  return {
    test(path: string): boolean {
      let d = initial;
      for (let i = 0; i < path.length; i++) {
        const c = path.charCodeAt(i);
        let n = d.next.get(c);
        if (!n) {
          const moved: number[] = [];
          for (const s of d.set) for (const e of nodes[s]!.edges) if (e.accepts(c)) moved.push(e.to);
          n = dfaState(close(moved));
          if (d.next.size < MAX_DFA_EDGES) d.next.set(c, n);
        }
        if (n.set.length === 0) return false;
        d = n;
      }
      return d.accept;
    },
  };
}

interface DfaState {
  set: number[];
  accept: boolean;
  next: Map<number, DfaState>;
}

/** Bounds on the lazily built DFA (memory); past them states are computed and not kept. */
const MAX_DFA_STATES = 4096;
const MAX_DFA_EDGES = 256;

/** The pattern as items; `{…}` nests, an unclosed `{` runs to the end, `[` without `]` is literal. */
function parse(pattern: string): Item[] {
  let i = 0;
  const items = (inBraces: boolean): Item[][] => {
    const options: Item[][] = [[]];
    while (i < pattern.length) {
      const c = pattern[i]!;
      const current = options[options.length - 1]!;
      if (c === "*") {
        if (pattern[i + 1] === "*") {
          if (pattern[i + 2] === "/") {
            current.push({ kind: "dirs" });
            i += 3;
          } else {
            current.push({ kind: "globstar" });
            i += 2;
          }
        } else {
          current.push({ kind: "star" });
          i++;
        }
      } else if (c === "?") {
        current.push({ kind: "any" });
        i++;
      } else if (c === "[") {
        const closing = pattern.indexOf("]", i + 2);
        if (closing === -1) {
          current.push({ kind: "char", code: c.charCodeAt(0) });
          i++;
        } else {
          let body = pattern.slice(i + 1, closing);
          const negate = body.startsWith("!") || body.startsWith("^");
          if (negate) body = body.slice(1);
          current.push({ kind: "class", negate, ranges: classRanges(body) });
          i = closing + 1;
        }
      } else if (c === "{") {
        i++;
        current.push({ kind: "alt", options: items(true) });
      } else if (c === "}" && inBraces) {
        i++;
        return options;
      } else if (c === "," && inBraces) {
        options.push([]);
        i++;
      } else {
        current.push({ kind: "char", code: pattern.charCodeAt(i) });
        i++;
      }
    }
    return options;
  };
  return items(false)[0]!;
}

function classRanges(body: string): [number, number][] {
  const ranges: [number, number][] = [];
  for (let i = 0; i < body.length; i++) {
    const lo = body.charCodeAt(i);
    if (body[i + 1] === "-" && i + 2 < body.length) {
      const hi = body.charCodeAt(i + 2);
      ranges.push(lo <= hi ? [lo, hi] : [hi, lo]);
      i += 2;
    } else ranges.push([lo, lo]);
  }
  return ranges;
}

/** The directory part of a pattern before its first wildcard (`src/**\/*.ts` → `src`). */
export function literalPrefix(pattern: string): { dir: string; rest: string } {
  const parts = pattern.split("/");
  const fixed: string[] = [];
  while (parts.length > 1 && !/[*?[{]/.test(parts[0]!)) fixed.push(parts.shift()!);
  return { dir: fixed.join("/"), rest: parts.join("/") };
}
