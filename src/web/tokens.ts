/**
 * The console's access tokens and what a session may do. Two tokens: the owner's and, when asked
 * for (`--viewer`), a read-only viewer's. Both are 32 random bytes (base64url), kept in
 * `<state>/web/tokens.json` (0600 in a 0700 folder) so a restarted console accepts the same
 * cookie; `--new-token` replaces them. A session is the token presented; its CSRF token is an
 * HMAC of a fixed label under the session token, so it is bound to the session, survives a
 * restart with it, and reveals nothing about the token.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

export const Role = { Owner: "owner", Viewer: "viewer" } as const;
export type Role = (typeof Role)[keyof typeof Role];

export interface ConsoleTokens {
  owner: string;
  viewer?: string;
}

export interface Session {
  role: Role;
  /** The presented token (only ever compared, never sent back). */
  token: string;
}

const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const newToken = () => randomBytes(32).toString("base64url");

export const tokensFile = (stateDir: string) => join(stateDir, "web", "tokens.json");

/**
 * The persisted tokens, created on first use. `viewer`: make sure a viewer token exists;
 * `rotate`: replace every token (old cookies stop working).
 */
export async function loadConsoleTokens(stateDir: string, opts: { viewer: boolean; rotate: boolean }): Promise<ConsoleTokens> {
  const file = tokensFile(stateDir);
  let stored: Partial<ConsoleTokens> = {};
  if (!opts.rotate) {
    try {
      stored = JSON.parse(await readFile(file, "utf8")) as Partial<ConsoleTokens>;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT" && !(e instanceof SyntaxError)) throw e;
    }
  }
  const tokens: ConsoleTokens = {
    owner: typeof stored.owner === "string" && TOKEN.test(stored.owner) ? stored.owner : newToken(),
    ...(typeof stored.viewer === "string" && TOKEN.test(stored.viewer) ? { viewer: stored.viewer } : opts.viewer ? { viewer: newToken() } : {}),
  };
  if (tokens.owner !== stored.owner || tokens.viewer !== stored.viewer) {
    const dir = join(stateDir, "web");
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(tokens) + "\n", { mode: 0o600 });
    await rename(tmp, file);
  }
  return tokens;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Which tokens open which role; the viewer token only when the console was started with `--viewer`. */
export class Sessions {
  readonly #tokens: { role: Role; token: string }[];

  constructor(tokens: ConsoleTokens, opts: { viewer: boolean }) {
    this.#tokens = [{ role: Role.Owner, token: tokens.owner }];
    if (opts.viewer && tokens.viewer) this.#tokens.push({ role: Role.Viewer, token: tokens.viewer });
  }

  /** The session a presented token opens (constant-time per token), or undefined. */
  open(presented: string | undefined): Session | undefined {
    if (presented === undefined) return undefined;
    let found: Session | undefined;
    for (const t of this.#tokens) if (sameText(presented, t.token)) found = { role: t.role, token: t.token };
    return found;
  }

  static csrfOf(session: Session): string {
    return createHmac("sha256", session.token).update("vibewriter-console-csrf-v1").digest("base64url");
  }

  static csrfMatches(session: Session, presented: string | undefined): boolean {
    return presented !== undefined && sameText(presented, Sessions.csrfOf(session));
  }
}
