/** The console's persisted tokens and sessions: kept 0600 across starts, rotated on demand, CSRF bound to the session. */
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConsoleTokens, Sessions, tokensFile } from "../../src/web/tokens.ts";

describe("console tokens", () => {
  let state = "";
  beforeEach(async () => {
    state = await mkdtemp(join(tmpdir(), "vw-tokens-"));
  });
  afterEach(async () => {
    await rm(state, { recursive: true, force: true });
  });

  it("are created once (0600), kept across starts, a viewer token added when asked, all replaced on rotate", async () => {
    const first = await loadConsoleTokens(state, { viewer: false, rotate: false });
    expect(first.owner).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(first.viewer).toBeUndefined();
    expect((await stat(tokensFile(state))).mode & 0o777).toBe(0o600);
    const withViewer = await loadConsoleTokens(state, { viewer: true, rotate: false });
    expect(withViewer.owner).toBe(first.owner);
    expect(withViewer.viewer).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await loadConsoleTokens(state, { viewer: false, rotate: false })).toEqual(withViewer); // kept, even unasked
    const rotated = await loadConsoleTokens(state, { viewer: true, rotate: true });
    expect(rotated.owner).not.toBe(first.owner);
    expect(rotated.viewer).not.toBe(withViewer.viewer);
    expect(JSON.parse(await readFile(tokensFile(state), "utf8"))).toEqual(rotated);
  });

  it("a damaged file is replaced by new tokens, never trusted", async () => {
    await loadConsoleTokens(state, { viewer: false, rotate: false });
    await writeFile(tokensFile(state), JSON.stringify({ owner: "short" }));
    expect((await loadConsoleTokens(state, { viewer: false, rotate: false })).owner).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await writeFile(tokensFile(state), "{ not json");
    expect((await loadConsoleTokens(state, { viewer: false, rotate: false })).owner).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("sessions: each token opens its role (the viewer's only when the console serves viewers); CSRF differs per session", async () => {
    const tokens = await loadConsoleTokens(state, { viewer: true, rotate: false });
    const sessions = new Sessions(tokens, { viewer: true });
    const owner = sessions.open(tokens.owner)!;
    const viewer = sessions.open(tokens.viewer)!;
    expect([owner.role, viewer.role]).toEqual(["owner", "viewer"]);
    expect(sessions.open(tokens.owner.slice(0, -1))).toBeUndefined();
    expect(sessions.open(undefined)).toBeUndefined();
    expect(new Sessions(tokens, { viewer: false }).open(tokens.viewer)).toBeUndefined();
    expect(Sessions.csrfOf(owner)).not.toBe(Sessions.csrfOf(viewer));
    expect(Sessions.csrfOf(owner)).not.toContain(tokens.owner);
    expect(Sessions.csrfMatches(owner, Sessions.csrfOf(owner))).toBe(true);
    expect(Sessions.csrfMatches(owner, Sessions.csrfOf(viewer))).toBe(false);
    expect(Sessions.csrfMatches(owner, undefined)).toBe(false);
  });
});
