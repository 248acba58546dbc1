import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { AgentError, AgentErrorCode, ModelNotConfiguredError } from "../src/agent/errors.ts";
import { AppError, AppErrorCode } from "../src/app/errors.ts";
import { ChoirError, ChoirErrorCode } from "../src/choir/errors.ts";
import { ThreadIdError, ThreadIdErrorCode } from "../src/config/thread-id.ts";
import { CliError, CliErrorCode, toCliError } from "../src/cli/errors.ts";
import { CODED_ERROR, CodedError } from "../src/errors.ts";
import { ExportError, ExportErrorCode } from "../src/export/errors.ts";
import { GuestAgentError } from "../src/guest/errors.ts";
import { NatsBackboneError, NatsErrorCode } from "../src/nats/errors.ts";
import { LeaseArgumentError, LeaseErrorCode, LeaseHeldError, LeaseLostError } from "../src/nats/thread-lease.ts";
import { ErrorCode, ProtocolError, ProtocolErrorCode } from "../src/protocol/index.ts";
import { GuestError, GuestErrorCode } from "../src/sandbox/guest-error.ts";
import { ImageError, ImageErrorCode } from "../src/sandbox/image/errors.ts";
import { VmmError, VmmErrorCode } from "../src/sandbox/vmm/driver.ts";
import { WalletError, WalletErrorCode } from "../src/wallet/errors.ts";
import { WebError, WebErrorCode } from "../src/web/errors.ts";

/** Every layer's error class with its code table; the last test checks none in src/ is missing. */
const LAYERS = [
  { cls: AgentError, codes: AgentErrorCode },
  { cls: ModelNotConfiguredError, codes: { ModelNotConfigured: AgentErrorCode.ModelNotConfigured } },
  { cls: AppError, codes: AppErrorCode },
  { cls: ChoirError, codes: ChoirErrorCode },
  { cls: CliError, codes: CliErrorCode },
  { cls: ExportError, codes: ExportErrorCode },
  { cls: ThreadIdError, codes: ThreadIdErrorCode },
  { cls: GuestAgentError, codes: ErrorCode },
  { cls: ProtocolError, codes: ProtocolErrorCode },
  { cls: NatsBackboneError, codes: NatsErrorCode },
  { cls: LeaseArgumentError, codes: { InvalidArgument: LeaseErrorCode.InvalidArgument } },
  { cls: GuestError, codes: GuestErrorCode },
  { cls: ImageError, codes: ImageErrorCode },
  { cls: VmmError, codes: VmmErrorCode },
  { cls: WalletError, codes: WalletErrorCode },
  { cls: WebError, codes: WebErrorCode },
] as const;

/** A coded error of `cls` as a generic constructor (the lease errors take their own arguments). */
function make(cls: (typeof LAYERS)[number]["cls"], code: string, cause?: unknown): CodedError {
  if (cls === ModelNotConfiguredError) return new ModelNotConfiguredError("no model", { cause });
  return new (cls as unknown as new (code: string, message: string, options: { cause?: unknown }) => CodedError)(code, `failed: ${code}`, { cause });
}

describe("one error model", () => {
  it("every layer's codes are snake_case, and each error keeps its code, cause and class name", () => {
    for (const { cls, codes } of LAYERS) {
      for (const code of Object.values(codes)) {
        expect(code, `${cls.errorName}: ${code}`).toMatch(/^[a-z]+(_[a-z]+)*$/);
        const cause = new Error("the underlying failure");
        const err = make(cls, code, cause);
        expect(err).toBeInstanceOf(Error);
        expect([err.name, err.code, err.cause]).toEqual([cls.errorName, code, cause]);
      }
    }
  });

  it("isInstance tells the layers apart and matches one code", () => {
    const wallet = new WalletError(WalletErrorCode.Locked, "wallet locked");
    expect(WalletError.isInstance(wallet)).toBe(true);
    expect(WalletError.isInstance(wallet, WalletErrorCode.Locked)).toBe(true);
    expect(WalletError.isInstance(wallet, WalletErrorCode.BadKey)).toBe(false);
    expect(CodedError.isInstance(wallet)).toBe(true);
    expect(ChoirError.isInstance(wallet)).toBe(false);
    expect(AgentError.isInstance(new ModelNotConfiguredError("no model"), AgentErrorCode.ModelNotConfigured)).toBe(true);
    expect(ModelNotConfiguredError.isInstance(new AgentError(AgentErrorCode.ModelNotConfigured, "no model"))).toBe(false);
    // Distinct names: the guest's error is not the deep agent's, nor the host's GuestError.
    const guest = new GuestAgentError(ErrorCode.FileNotFound, "/workspace/a.md: no such file or directory");
    expect([AgentError.isInstance(guest), GuestError.isInstance(guest), GuestAgentError.isInstance(guest, ErrorCode.FileNotFound)]).toEqual([false, false, true]);
    const held = new LeaseHeldError("t-1", { id: "w-1", host: "h", pid: 12, kind: "worker" }, 1_000, 5_000);
    expect([LeaseHeldError.isInstance(held, LeaseErrorCode.Held), LeaseLostError.isInstance(held), NatsBackboneError.isInstance(held)]).toEqual([true, false, false]);
    // A name and a code alone are not enough: only the marker says "typed error".
    const lookalike = Object.assign(new Error("wallet locked"), { name: "WalletError", code: WalletErrorCode.Locked });
    expect(WalletError.isInstance(lookalike)).toBe(false);
    expect([null, undefined, "WalletError", 42].some((v) => CodedError.isInstance(v))).toBe(false);
  });

  it("recognises an error made by another copy of the code (the Symbol.for marker)", async () => {
    vi.resetModules();
    const copy = (await import("../src/errors.ts")) as typeof import("../src/errors.ts");
    expect(copy.CodedError).not.toBe(CodedError);
    class CopiedWalletError extends copy.CodedError<WalletErrorCode> {
      static override readonly errorName = "WalletError";
    }
    const cause = new Error("horizon unreachable");
    const copied = new CopiedWalletError(WalletErrorCode.SubmitFailed, "submit failed", { cause });
    expect(copied).not.toBeInstanceOf(WalletError);
    expect(WalletError.isInstance(copied, WalletErrorCode.SubmitFailed)).toBe(true);
    expect(copied.cause).toBe(cause);
    expect(ChoirError.isInstance(copied)).toBe(false);
    // Both copies share the marker's key, and it stays out of JSON.
    expect(copy.CODED_ERROR).toBe(CODED_ERROR);
    expect(JSON.parse(JSON.stringify(copied))).toEqual({ code: "submit_failed", name: "WalletError" });
  });

  it("the CLI's errors are coded errors too, and any layer's error becomes one with its code and fix kept", () => {
    const missing = new ExportError(ExportErrorCode.BrowserMissing, "no browser", { fix: "set VIBEWRITER_CHROMIUM" });
    const cli = toCliError(missing);
    expect(CodedError.isInstance(cli) && CliError.isInstance(cli, CliErrorCode.Failed)).toBe(true);
    expect([cli.message, cli.fix, cli.cause]).toEqual(["browser_missing: no browser", "set VIBEWRITER_CHROMIUM", missing]);
  });

  it("the composition root's errors reach the CLI as they were told, with the CLI code of the same meaning", () => {
    const told = (code: AppErrorCode) => toCliError(new AppError(code, "proposal p-1 was already decided", { fix: "No payment is waiting for approval." }));
    expect([told(AppErrorCode.NotFound).code, told(AppErrorCode.NotConfigured).code, told(AppErrorCode.NotPending).code, told(AppErrorCode.OwnerLocked).code]).toEqual([
      CliErrorCode.NotFound,
      CliErrorCode.NotConfigured,
      CliErrorCode.Failed,
      CliErrorCode.Failed,
    ]);
    const cli = told(AppErrorCode.NotPending);
    expect([cli.message, cli.fix, AppError.isInstance(cli.cause, AppErrorCode.NotPending)]).toEqual(["proposal p-1 was already decided", "No payment is waiting for approval.", true]);
  });

  it("lists every CodedError class in src/", async () => {
    const root = join(import.meta.dirname, "..", "src");
    const found: string[] = [];
    for (const file of await readdir(root, { recursive: true })) {
      if (!file.endsWith(".ts")) continue;
      const text = await readFile(join(root, file), "utf8");
      for (const m of text.matchAll(/^(?:export )?class (\w+) extends (?:CodedError|AgentError|NatsBackboneError)\b/gm)) found.push(m[1]!);
    }
    const covered = [...LAYERS.map((l) => l.cls.name), "LeaseHeldError", "LeaseLostError", "AckRefusedError"];
    expect(found.sort()).toEqual(covered.sort());
  });

  it("an error another file can see is a CodedError: plain Error subclasses are only signals private to their file", async () => {
    const root = join(import.meta.dirname, "..", "src");
    const exported: string[] = [];
    for (const file of await readdir(root, { recursive: true })) {
      if (!file.endsWith(".ts") || file === "errors.ts") continue; // errors.ts: CodedError itself
      const text = await readFile(join(root, file), "utf8");
      for (const m of text.matchAll(/^export (?:default )?class (\w+)(?:<[^\n{]*?>)? extends \w*Error\b/gm)) {
        if (!/^export (?:default )?class \w+ extends (?:CodedError|AgentError|NatsBackboneError)\b/.test(m[0])) exported.push(`${file}: ${m[1]}`);
      }
    }
    expect(exported).toEqual([]);
  });
});
