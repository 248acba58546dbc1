/**
 * The pure layer of the CLI: argv (+ cwd) → a `CommandPlan`, or a usage `CliError`. No I/O, no
 * environment, no process state, so every rule here is unit-tested (`test/cli/parse.test.ts`).
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { resolve } from "node:path";
import { isThreadId, THREAD_ID_RULE } from "../config/index.ts";
import { PROPOSAL_ID, PROPOSAL_ID_RULE } from "../wallet/index.ts";
import { usageError } from "./errors.ts";
import { CommandName, ExportFormat, type CommandPlan } from "./plan.ts";
import { HELP } from "./help.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;
type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** Proposal ids typed by a user: printable, no spaces, bounded. */

/** The dashboard's default port (loopback only). */
export const DEFAULT_WEB_PORT = 7878;

const common: Options = {
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

interface Spec {
  options: Options;
  /** Builds the plan from parsed values and positionals; throws usage errors. */
  build(values: Values, positionals: string[], cwd: string): CommandPlan;
}

const json = (v: Values) => v.json === true;

function noPositionals(name: string, positionals: string[]): void {
  if (positionals.length > 0) throw usageError(`\`${name}\` takes no arguments, got "${positionals[0]}".`, name);
}

function oneId(name: string, what: string, positionals: string[]): string {
  if (positionals.length === 0) throw usageError(`\`${name}\` needs a ${what}.`, name);
  if (positionals.length > 1) throw usageError(`\`${name}\` takes one ${what}, got ${positionals.length} arguments.`, name);
  return checkId(name, what, positionals[0]!);
}

function checkId(name: string, what: string, id: string): string {
  const thread = what === "thread id";
  // Thread ids are checked here too, so a typo fails before any I/O.
  if (thread ? !isThreadId(id) : !PROPOSAL_ID.test(id)) {
    const rule = thread ? THREAD_ID_RULE : `use ${PROPOSAL_ID_RULE}`;
    throw usageError(`"${id}" is not a valid ${what}: ${rule}.`, name);
  }
  return id;
}

function nonEmptyPath(name: string, option: string, value: string, cwd: string): string {
  if (value.trim() === "") throw usageError(`\`--${option}\` needs a folder path.`, name);
  return resolve(cwd, value);
}

/** `--max-model-calls N`, `--max-tokens N`: whole numbers above 0. */
function budgetFlags(command: "run" | "resume" | "submit", v: Values): { maxModelCalls?: number; maxTokens?: number } {
  const out: { maxModelCalls?: number; maxTokens?: number } = {};
  for (const [flag, key] of [["max-model-calls", "maxModelCalls"], ["max-tokens", "maxTokens"]] as const) {
    const raw = v[flag];
    if (typeof raw !== "string") continue;
    if (!/^[1-9]\d{0,11}$/.test(raw)) throw usageError(`--${flag} must be a whole number above 0, got "${raw}".`, command);
    out[key] = Number(raw);
  }
  return out;
}

/** The options of a task to run now (`run`) or queue (`submit`). */
const TASK_OPTIONS = {
  ...common,
  sources: { type: "string", short: "s" },
  thread: { type: "string", short: "t" },
  skills: { type: "string", multiple: true },
  "allow-network": { type: "boolean" },
  "max-model-calls": { type: "string" },
  "max-tokens": { type: "string" },
} as const;

function taskFlags(command: "run" | "submit", v: Values, cwd: string) {
  return {
    sources: typeof v.sources === "string" ? nonEmptyPath(command, "sources", v.sources, cwd) : undefined,
    threadId: typeof v.thread === "string" ? checkId(command, "thread id", v.thread) : undefined,
    skills: ((v.skills as string[] | undefined) ?? []).map((s) => nonEmptyPath(command, "skills", s, cwd)),
    allowNetwork: v["allow-network"] === true,
    ...budgetFlags(command, v),
  };
}

/** `export`'s format when `--format` is absent: from the `--out` file's extension, else HTML. */
function formatOfFile(out: string | undefined): ExportFormat {
  const ext = /\.([A-Za-z]+)$/.exec(out ?? "")?.[1]?.toLowerCase();
  if (ext === "pdf") return ExportFormat.Pdf;
  if (ext === "md" || ext === "markdown") return ExportFormat.Md;
  return ExportFormat.Html;
}

/** Wallet key names: the keystore's rule. */
const KEY_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

function keyName(name: string, positionals: string[], required: boolean): string {
  if (positionals.length > 1) throw usageError(`\`${name}\` takes one key name, got ${positionals.length} arguments.`, "wallet");
  const key = positionals[0] ?? (required ? undefined : "default");
  if (key === undefined) throw usageError(`\`${name}\` needs a key name (the seed is read from stdin, never from arguments).`, "wallet");
  if (!KEY_NAME_PATTERN.test(key)) {
    throw usageError(`"${key}" is not a valid key name: lowercase letters, digits, - and _ (at most 64).`, "wallet");
  }
  return key;
}

const SPECS: Record<Exclude<CommandName, "help" | "ledger" | "image" | "wallet" | "owner" | "nats">, Spec> & {
  "owner init": Spec;
  "owner show": Spec;
  "nats config": Spec;
  "ledger verify": Spec;
  "image build": Spec;
  "wallet create": Spec;
  "wallet import": Spec;
  "wallet show": Spec;
} = {
  doctor: {
    options: common,
    build: (v, p) => (noPositionals("doctor", p), { command: "doctor", json: json(v) }),
  },
  run: {
    options: TASK_OPTIONS,
    build(v, p, cwd) {
      if (p.length === 0) throw usageError("`run` needs a task, e.g. vibewriter run \"Assess ACME Corp\".", "run");
      if (p.length > 1) {
        throw usageError(`\`run\` takes one task; quote it: vibewriter run "${p.join(" ")}".`, "run");
      }
      const task = p[0]!.trim();
      if (task === "") throw usageError("The task is empty.", "run");
      return {
        command: "run",
        task,
        ...taskFlags("run", v, cwd),
        json: json(v),
      };
    },
  },
  submit: {
    options: TASK_OPTIONS,
    build(v, p, cwd) {
      if (p.length !== 1 || p[0]!.trim() === "") throw usageError("`submit` takes one task, quoted: vibewriter submit \"Assess ACME Corp\".", "submit");
      return {
        command: "submit",
        task: p[0]!.trim(),
        ...taskFlags("submit", v, cwd),
        json: json(v),
      };
    },
  },
  worker: {
    options: { ...common, concurrency: { type: "string", short: "c" } },
    build(v, p) {
      noPositionals("worker", p);
      const raw = typeof v.concurrency === "string" ? v.concurrency : "1";
      if (!/^[1-9]\d{0,2}$/.test(raw)) throw usageError(`--concurrency must be a whole number from 1 to 999, got "${raw}".`, "worker");
      return { command: "worker", concurrency: Number(raw), json: json(v) };
    },
  },
  fleet: {
    options: common,
    build: (v, p) => (noPositionals("fleet", p), { command: "fleet", json: json(v) }),
  },
  resume: {
    options: { ...common, skills: { type: "string", multiple: true }, "allow-network": { type: "boolean" }, "max-model-calls": { type: "string" }, "max-tokens": { type: "string" } },
    build: (v, p, cwd) => ({
      command: "resume",
      threadId: oneId("resume", "thread id", p),
      skills: ((v.skills as string[] | undefined) ?? []).map((s) => nonEmptyPath("resume", "skills", s, cwd)),
      allowNetwork: v["allow-network"] === true,
      ...budgetFlags("resume", v),
      json: json(v),
    }),
  },
  threads: {
    options: common,
    build: (v, p) => (noPositionals("threads", p), { command: "threads", json: json(v) }),
  },
  show: {
    options: common,
    build: (v, p) => ({ command: "show", threadId: oneId("show", "thread id", p), json: json(v) }),
  },
  events: {
    options: { ...common, follow: { type: "boolean", short: "f" } },
    build: (v, p) => ({
      command: "events",
      threadId: oneId("events", "thread id", p),
      follow: v.follow === true,
      json: json(v),
    }),
  },
  export: {
    options: { ...common, format: { type: "string", short: "f" }, out: { type: "string", short: "o" }, force: { type: "boolean" } },
    build(v, p, cwd) {
      const threadId = oneId("export", "thread id", p);
      const out = typeof v.out === "string" ? v.out : undefined;
      if (out !== undefined && out.trim() === "") throw usageError("`--out` needs a file path.", "export");
      const format = typeof v.format === "string" ? v.format : formatOfFile(out);
      if (!(Object.values(ExportFormat) as string[]).includes(format)) {
        throw usageError(`--format must be html, pdf or md, got "${format}".`, "export");
      }
      return {
        command: "export",
        threadId,
        format: format as ExportFormat,
        ...(out !== undefined ? { out: resolve(cwd, out) } : {}),
        force: v.force === true,
        json: json(v),
      };
    },
  },
  demo: {
    options: { ...common, thread: { type: "string", short: "t" } },
    build(v, p) {
      noPositionals("demo", p);
      return {
        command: "demo",
        threadId: typeof v.thread === "string" ? checkId("demo", "thread id", v.thread) : undefined,
        json: json(v),
      };
    },
  },
  approve: {
    options: common,
    build: (v, p) => ({ command: "approve", id: oneId("approve", "proposal id", p), json: json(v) }),
  },
  reject: {
    options: { ...common, reason: { type: "string", short: "r" } },
    build: (v, p) => ({
      command: "reject",
      id: oneId("reject", "proposal id", p),
      reason: typeof v.reason === "string" && v.reason.trim() !== "" ? v.reason.trim() : undefined,
      json: json(v),
    }),
  },
  prune: {
    options: { ...common, "older-than": { type: "string" }, "dry-run": { type: "boolean" } },
    build: (v, p) => (
      noPositionals("prune", p),
      {
        command: "prune",
        ...(typeof v["older-than"] === "string" ? { olderThan: v["older-than"] } : {}),
        dryRun: v["dry-run"] === true,
        json: json(v),
      }
    ),
  },
  "ledger verify": {
    options: common,
    build: (v, p) => (noPositionals("ledger verify", p), { command: "ledger-verify", json: json(v) }),
  },
  "wallet create": {
    options: common,
    build: (v, p) => ({ command: "wallet-create", name: keyName("wallet create", p, false), json: json(v) }),
  },
  "wallet import": {
    options: common,
    build: (v, p) => ({ command: "wallet-import", name: keyName("wallet import", p, true), json: json(v) }),
  },
  "wallet show": {
    options: common,
    build: (v, p) => (noPositionals("wallet show", p), { command: "wallet-show", json: json(v) }),
  },
  payments: {
    options: { ...common, pending: { type: "boolean" } },
    build: (v, p) => (noPositionals("payments", p), { command: "payments", pending: v.pending === true, json: json(v) }),
  },
  web: {
    options: { ...common, port: { type: "string", short: "p" }, host: { type: "string" }, viewer: { type: "boolean" }, "new-token": { type: "boolean" } },
    build(v, p) {
      noPositionals("web", p);
      const raw = typeof v.port === "string" ? v.port : String(DEFAULT_WEB_PORT);
      const port = Number(raw);
      if (!/^\d+$/.test(raw) || port > 65535) throw usageError(`--port must be a number from 0 to 65535, got "${raw}".`, "web");
      const host = typeof v.host === "string" ? v.host.trim() : undefined;
      if (host !== undefined && !/^[A-Za-z0-9.:-]{1,253}$/.test(host)) throw usageError(`--host must be an address or host name, got "${host}".`, "web");
      return { command: "web", port, ...(host ? { host } : {}), viewer: v.viewer === true, newToken: v["new-token"] === true, json: json(v) };
    },
  },
  "image build": {
    options: common,
    build: (v, p) => (noPositionals("image build", p), { command: "image-build", json: json(v) }),
  },
  "owner init": {
    options: common,
    build: (v, p) => (noPositionals("owner init", p), { command: "owner-init", json: json(v) }),
  },
  "owner show": {
    options: common,
    build: (v, p) => (noPositionals("owner show", p), { command: "owner-show", json: json(v) }),
  },
  "nats config": {
    options: common,
    build: (v, p) => (noPositionals("nats config", p), { command: "nats-config", json: json(v) }),
  },
};

/** Commands that only exist with a sub-command, and the sub-commands they accept. */
const GROUPS = { ledger: ["verify"], image: ["build"], wallet: ["create", "import", "show"], owner: ["init", "show"], nats: ["config"] } as const;

function isCommandName(s: string): s is CommandName {
  return (Object.values(CommandName) as string[]).includes(s);
}

/**
 * Parses `vibewriter`'s arguments (without node and script). `cwd` resolves relative folder paths.
 * Throws a usage `CliError` for anything it cannot turn into a plan.
 */
export function parseCommandLine(argv: readonly string[], cwd: string): CommandPlan {
  const [first, ...rest] = argv;
  if (first === undefined || first === "--help" || first === "-h") return { command: "help", json: false };
  if (first === "--version" || first === "-V") return { command: "version", json: false };
  if (first === "help") {
    const topic = rest[0];
    if (topic === undefined) return { command: "help", json: false };
    if (!isCommandName(topic)) throw usageError(`No help for unknown command "${topic}".`);
    return { command: "help", topic, json: false };
  }
  if (first.startsWith("-")) throw usageError(`Options go after the command; "${first}" came first.`);
  if (!isCommandName(first)) throw usageError(`Unknown command "${first}".`);

  let key: keyof typeof SPECS = first as keyof typeof SPECS;
  let args = rest;
  if (first === "ledger" || first === "image" || first === "wallet" || first === "owner" || first === "nats") {
    const sub = rest[0];
    const allowed: readonly string[] = GROUPS[first];
    if (sub === undefined || sub === "--help" || sub === "-h") return { command: "help", topic: first, json: false };
    if (!allowed.includes(sub)) {
      throw usageError(`Unknown \`${first}\` sub-command "${sub}"; expected: ${allowed.join(", ")}.`, first);
    }
    key = `${first} ${sub}` as keyof typeof SPECS;
    args = rest.slice(1);
  }

  const spec = SPECS[key];
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...args], options: spec.options, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (e) {
    // node:util's messages are precise ("Unknown option '--x'"); keep them, add the help pointer.
    throw usageError((e as Error).message, key);
  }
  if (parsed.values.help === true) return { command: "help", topic: first as CommandName, json: false };
  return spec.build(parsed.values, parsed.positionals, cwd);
}

/** Help text for a command, or the overview. */
export function helpText(topic?: CommandName): string {
  return topic ? HELP[topic] : HELP.overview;
}
