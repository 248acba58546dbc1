/**
 * One thread id rule at every entry point: the same table of ids is accepted or refused alike by
 * the CLI's parser, the console's route, createVibewriter, the run service's queueThread and the
 * sandbox backend. Each entry point is driven only up to its id check: an accepted id is seen by
 * the next step failing for another reason (a missing model, an empty task, no VM channel…).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { assertThreadId, isThreadId, newThreadId } from "../../src/config/index.ts";
import { THREAD_ID_MAX_LENGTH, ThreadIdError, ThreadIdErrorCode } from "../../src/config/thread-id.ts";
import { parseCommandLine } from "../../src/cli/parse.ts";
import { CliError } from "../../src/cli/errors.ts";
import { route, type RouteContext } from "../../src/web/routes.ts";
import { WebError } from "../../src/web/errors.ts";
import type { Session } from "../../src/web/tokens.ts";
import { createVibewriter, type VibewriterOptions } from "../../src/agent/vibewriter.ts";
import { queueThread, type QueueThreadDeps } from "../../src/agent/queue-thread.ts";
import { AgentError, AgentErrorCode } from "../../src/agent/errors.ts";
import { childThreadId } from "../../src/agent/child-runs.ts";
import { MicroVMBackend } from "../../src/sandbox/backend.ts";
import { GuestError, GuestErrorCode } from "../../src/sandbox/guest-error.ts";
import type { SandboxVm } from "../../src/sandbox/sandbox-vm.ts";

const longest = "a".repeat(THREAD_ID_MAX_LENGTH);
const VALID = [
  "t1",
  "A",
  "9-lives",
  "thread_with_underscores",
  longest,
  newThreadId(),
  newThreadId("demo"),
  childThreadId(longest, "call_abc"),
];
const INVALID = ["", "-lead", "_lead", "a.b", "..", "../etc", "a/b", "has space", "x\ny", "é", "a*", "a>", longest + "a"];

/** The id got past the entry point's check: the step after it failed instead. */
const PASSED = "passed the thread id check";
/** The entry point refused the id. */
const REFUSED = "refused the thread id";
type Verdict = typeof PASSED | typeof REFUSED;

async function verdict(run: () => unknown, refused: (err: unknown) => boolean): Promise<Verdict | unknown> {
  try {
    await run();
    return PASSED;
  } catch (err) {
    return refused(err) ? REFUSED : err instanceof AfterCheck ? PASSED : err;
  }
}

/** Thrown by the stand-ins the entry points reach only after accepting the id. */
class AfterCheck extends Error {}

const invalidAgentId = (e: unknown) => AgentError.isInstance(e, AgentErrorCode.InvalidThreadId);

const ENTRY_POINTS: Record<string, (id: string) => Promise<Verdict | unknown>> = {
  isThreadId: async (id) => (isThreadId(id) ? PASSED : REFUSED),
  assertThreadId: (id) => verdict(() => assertThreadId(id), (e) => ThreadIdError.isInstance(e, ThreadIdErrorCode.InvalidThreadId)),
  "CLI: vibewriter resume <id>": (id) =>
    verdict(() => parseCommandLine(["resume", "--", id], "/w"), (e) => CliError.isInstance(e) && /not a valid thread id/.test((e as Error).message)),
  "console: GET /api/threads/<id>": (id) => {
    const path = `/api/threads/${encodeURIComponent(id)}`;
    const url = new URL(`http://127.0.0.1${path}`);
    // A `..` segment is resolved by the URL parser already: such an id never reaches the route.
    if (url.pathname !== path) return Promise.resolve(REFUSED);
    const desk = { records: () => Promise.reject(new AfterCheck()) };
    const ctx = { desk } as unknown as RouteContext;
    return verdict(
      () => route({ method: "GET" } as IncomingMessage, {} as ServerResponse, url, {} as Session, ctx),
      (e) => WebError.isInstance(e, "bad_request") && e.status === 400 && /invalid thread id/.test(e.message),
    );
  },
  createVibewriter: (id) =>
    verdict(
      () => createVibewriter({ threadId: id } as VibewriterOptions),
      (e) => invalidAgentId(e),
    ).then((v) => (AgentError.isInstance(v, AgentErrorCode.InvalidArgument) ? PASSED : v)), // "a model is required"
  "run service: queueThread": (id) =>
    verdict(
      () => queueThread({} as QueueThreadDeps, { threadId: id, task: "" } as Parameters<typeof queueThread>[1]),
      (e) => invalidAgentId(e),
    ).then((v) => (AgentError.isInstance(v, AgentErrorCode.InvalidArgument) ? PASSED : v)), // "a task is required"
  "sandbox: MicroVMBackend.create": (id) => {
    const vm: SandboxVm = { id: "no-vm", channel: () => Promise.reject(new AfterCheck()), exited: new Promise(() => {}), kill: async () => {} };
    return verdict(
      () => MicroVMBackend.create({ threadId: id, vm }),
      (e) => GuestError.isInstance(e, GuestErrorCode.BadRequest) && /invalid thread id/.test((e as Error).message),
    );
  },
};

describe("the thread id rule is the same at every entry point", () => {
  for (const [name, check] of Object.entries(ENTRY_POINTS)) {
    it(name, async () => {
      const seen: Record<string, unknown> = {};
      for (const id of [...VALID, ...INVALID]) seen[id] = await check(id);
      const expected = Object.fromEntries([...VALID.map((id) => [id, PASSED]), ...INVALID.map((id) => [id, REFUSED])]);
      expect(seen).toEqual(expected);
    });
  }

  it("says the rule in its error", () => {
    expect(() => assertThreadId("a.b")).toThrow(/invalid thread id "a\.b": use letters, digits, - and _ \(at most 64 characters, starting with a letter or digit\)/);
    expect(() => assertThreadId(42)).toThrow(ThreadIdError);
  });
});
