import { parseCommandLine, helpText } from "../../src/cli/parse.ts";
import { CliError } from "../../src/cli/errors.ts";

const cwd = "/home/u/work";
const parse = (...argv: string[]) => parseCommandLine(argv, cwd);

function usage(argv: string[]): CliError {
  try {
    parseCommandLine(argv, cwd);
  } catch (e) {
    expect(CliError.isInstance(e)).toBe(true);
    expect((e as CliError).code).toBe("usage");
    return e as CliError;
  }
  throw new Error(`expected a usage error for ${JSON.stringify(argv)}`);
}

describe("parseCommandLine", () => {
  it("no arguments and --help give the overview", () => {
    expect(parse()).toEqual({ command: "help", json: false });
    expect(parse("--help")).toEqual({ command: "help", json: false });
    expect(parse("-h")).toEqual({ command: "help", json: false });
    expect(parse("--version")).toEqual({ command: "version", json: false });
  });

  it("every command has --help", () => {
    for (const c of ["doctor", "run", "resume", "threads", "show", "events", "demo", "approve", "reject"]) {
      expect(parse(c, "--help")).toEqual({ command: "help", topic: c, json: false });
      expect(helpText(c as never)).toMatch(/^Usage: vibewriter/);
    }
    expect(parse("ledger", "verify", "--help")).toEqual({ command: "help", topic: "ledger", json: false });
    expect(parse("image", "build", "-h")).toEqual({ command: "help", topic: "image", json: false });
    expect(parse("ledger")).toEqual({ command: "help", topic: "ledger", json: false });
    expect(parse("help", "run")).toEqual({ command: "help", topic: "run", json: false });
    expect(helpText()).toMatch(/Commands:/);
  });

  it("doctor", () => {
    expect(parse("doctor")).toEqual({ command: "doctor", json: false });
    expect(parse("doctor", "--json")).toEqual({ command: "doctor", json: true });
    expect(usage(["doctor", "now"]).message).toMatch(/takes no arguments/);
  });

  it("run with every option, paths resolved against cwd", () => {
    expect(
      parse("run", "Assess ACME", "--sources", "docs", "--thread", "t-1", "--skills", "a", "--skills", "/abs/b", "--allow-network", "--json"),
    ).toEqual({
      command: "run",
      task: "Assess ACME",
      sources: "/home/u/work/docs",
      threadId: "t-1",
      skills: ["/home/u/work/a", "/abs/b"],
      allowNetwork: true,
      json: true,
    });
    expect(parse("run", "  x  ", "-s", "/s", "-t", "abc")).toMatchObject({ task: "x", sources: "/s", threadId: "abc" });
    expect(parse("run", "task")).toEqual({ command: "run", task: "task", skills: [], allowNetwork: false, json: false, sources: undefined, threadId: undefined });
    expect(parse("run", "task", "--allow-network")).toMatchObject({ allowNetwork: true });
  });

  it("run rejects a missing, empty or unquoted task and bad options", () => {
    expect(usage(["run"]).message).toMatch(/needs a task/);
    expect(usage(["run", "   "]).message).toMatch(/empty/);
    expect(usage(["run", "Assess", "ACME"]).message).toMatch(/quote it: vibewriter run "Assess ACME"/);
    expect(usage(["run", "x", "--sources"]).message).toMatch(/--sources/);
    expect(usage(["run", "x", "--sources", " "]).message).toMatch(/needs a folder path/);
    expect(usage(["run", "x", "--bogus"]).message).toMatch(/bogus/);
    expect(usage(["run", "x", "--thread", "has space"]).message).toMatch(/not a valid thread id/);
    expect(usage(["run", "x", "--thread", "a".repeat(65)]).message).toMatch(/not a valid thread id/);
  });

  it("thread commands need exactly one valid id", () => {
    expect(parse("resume", "t1")).toEqual({ command: "resume", threadId: "t1", skills: [], allowNetwork: false, json: false });
    expect(parse("resume", "t1", "--allow-network")).toMatchObject({ allowNetwork: true });
    expect(parse("resume", "t1", "--skills", "s")).toEqual({ command: "resume", threadId: "t1", skills: ["/home/u/work/s"], allowNetwork: false, json: false });
    expect(usage(["resume", "a.b"]).message).toMatch(/not a valid thread id: use letters, digits, - and _/);
    expect(parse("show", "t1", "--json")).toEqual({ command: "show", threadId: "t1", json: true });
    expect(parse("events", "t1", "--follow")).toEqual({ command: "events", threadId: "t1", follow: true, json: false });
    expect(parse("events", "t1")).toEqual({ command: "events", threadId: "t1", follow: false, json: false });
    expect(usage(["resume"]).message).toMatch(/needs a thread id/);
    expect(usage(["show", "a", "b"]).message).toMatch(/one thread id/);
    expect(usage(["events", "../etc"]).message).toMatch(/not a valid thread id/);
    expect(usage(["show", "a*b"]).message).toMatch(/not a valid/);
    expect(usage(["resume"]).fix).toMatch(/vibewriter resume --help/);
  });

  it("threads, demo, approve, reject, ledger verify, image build", () => {
    expect(parse("threads", "--json")).toEqual({ command: "threads", json: true });
    expect(parse("demo")).toEqual({ command: "demo", threadId: undefined, json: false });
    expect(parse("demo", "-t", "d1")).toEqual({ command: "demo", threadId: "d1", json: false });
    expect(parse("approve", "p-1")).toEqual({ command: "approve", id: "p-1", json: false });
    expect(parse("reject", "p-1", "--reason", " too much ")).toEqual({ command: "reject", id: "p-1", reason: "too much", json: false });
    expect(parse("reject", "p-1")).toEqual({ command: "reject", id: "p-1", reason: undefined, json: false });
    expect(parse("ledger", "verify", "--json")).toEqual({ command: "ledger-verify", json: true });
    expect(parse("image", "build")).toEqual({ command: "image-build", json: false });
    expect(usage(["image", "build", "--force"]).message).toMatch(/force/);
    expect(usage(["approve"]).message).toMatch(/needs a proposal id/);
    // The wallet's own rule for proposal ids, checked before any I/O: what it would refuse, the CLI refuses.
    for (const bad of ["pay.1", "pay:1", "a@b", "p".repeat(129)]) expect(usage(["approve", bad]).message).toMatch(/not a valid proposal id: use letters, digits, _ and -/);
    expect(parse("reject", "pay_1-A")).toMatchObject({ command: "reject", id: "pay_1-A" });
    expect(usage(["ledger", "check"]).message).toMatch(/expected: verify/);
    expect(usage(["image", "pull"]).message).toMatch(/expected: build/);
    expect(usage(["threads", "x"]).message).toMatch(/takes no arguments/);
  });

  it("wallet and payments", () => {
    expect(parse("wallet", "create")).toEqual({ command: "wallet-create", name: "default", json: false });
    expect(parse("wallet", "create", "ops", "--json")).toEqual({ command: "wallet-create", name: "ops", json: true });
    expect(parse("wallet", "import", "cold")).toEqual({ command: "wallet-import", name: "cold", json: false });
    expect(parse("wallet", "show")).toEqual({ command: "wallet-show", json: false });
    expect(parse("payments", "--pending")).toEqual({ command: "payments", pending: true, json: false });
    expect(parse("payments")).toEqual({ command: "payments", pending: false, json: false });
    expect(usage(["wallet", "import"]).message).toMatch(/needs a key name \(the seed is read from stdin/);
    // A seed pasted as an argument is refused before anything could store or echo it further.
    expect(usage(["wallet", "import", "SBXXXXSEED"]).message).toMatch(/not a valid key name/);
    expect(usage(["wallet", "create", "a", "b"]).message).toMatch(/one key name/);
    expect(usage(["wallet", "delete"]).message).toMatch(/expected: create, import, show/);
    expect(parse("wallet")).toEqual({ command: "help", topic: "wallet", json: false });
  });

  it("web", () => {
    expect(parse("web")).toEqual({ command: "web", port: 7878, viewer: false, newToken: false, json: false });
    expect(parse("web", "--port", "0")).toEqual({ command: "web", port: 0, viewer: false, newToken: false, json: false });
    expect(parse("web", "--host", "0.0.0.0", "--viewer", "--new-token")).toEqual({ command: "web", port: 7878, host: "0.0.0.0", viewer: true, newToken: true, json: false });
    expect(usage(["web", "--port", "http"]).message).toMatch(/--port must be a number/);
    expect(usage(["web", "--port", "70000"]).message).toMatch(/--port must be a number/);
  });

  it("unknown commands and misplaced options are usage errors", () => {
    expect(usage(["frobnicate"]).message).toMatch(/Unknown command "frobnicate"/);
    expect(usage(["--json", "doctor"]).message).toMatch(/Options go after the command/);
    expect(usage(["help", "nope"]).message).toMatch(/unknown command "nope"/);
  });
});
