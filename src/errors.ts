/**
 * The one shape of Vibewriter's typed errors: a `code` from the layer's `as const` table (codes are
 * snake_case in every layer, as on the guest protocol's wire), a message for people, the `cause`
 * passed through and, where there is one, the `fix` to show under the message.
 *
 * Each layer subclasses it once with its own `errorName` and code union:
 *
 *     export class WalletError extends CodedError<WalletErrorCode> {
 *       static override readonly errorName = "WalletError";
 *     }
 *
 * and every check is the same inherited `isInstance`: `CodedError.isInstance(e)` for any typed
 * error, `WalletError.isInstance(e)` for one layer's, `WalletError.isInstance(e, code)` for one
 * code. It reads the `Symbol.for` marker (the class names of the error) rather than `instanceof`,
 * so an error made by another copy of this code is recognised too, as deepagents does.
 *
 * No imports: every folder uses this file, the guest bundle (plain Node) included.
 */

/** The marker's key; its value is the error's class names, its own first. */
export const CODED_ERROR = Symbol.for("vibewriter.coded_error");

export interface CodedErrorOptions {
  cause?: unknown;
  /** What to do about it, one or two lines (the CLI prints it under the message). */
  fix?: string;
}

/** A CodedError class, as `isInstance` sees it. */
interface CodedErrorClass<E extends CodedError> {
  readonly errorName: string;
  readonly prototype: E;
}

export class CodedError<C extends string = string> extends Error {
  /** The `name` of this class's errors, and what `isInstance` matches; set once per class. */
  static readonly errorName: string = "CodedError";

  readonly code: C;
  declare readonly fix?: string;

  constructor(code: C, message: string, options: CodedErrorOptions = {}) {
    super(message, "cause" in options ? { cause: options.cause } : undefined);
    this.code = code;
    this.name = new.target.errorName;
    if (options.fix !== undefined) (this as { fix?: string }).fix = options.fix;
    Object.defineProperty(this, CODED_ERROR, { value: classNames(new.target) });
  }

  static isInstance<E extends CodedError>(this: CodedErrorClass<E>, err: unknown, code?: E["code"]): err is E {
    if (typeof err !== "object" || err === null) return false;
    const names = (err as { [CODED_ERROR]?: unknown })[CODED_ERROR];
    if (!Array.isArray(names) || !names.includes(this.errorName)) return false;
    const actual = (err as { code?: unknown }).code;
    return typeof actual === "string" && (code === undefined || actual === code);
  }
}

function classNames(cls: unknown): readonly string[] {
  const names: string[] = [];
  for (let c = cls as { errorName?: string } | null; c && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    if (Object.hasOwn(c, "errorName")) names.push(c.errorName!);
  }
  return Object.freeze(names);
}
