import { inspect } from "node:util";

const REDACTED = "[redacted secret]";

/**
 * Holds a secret (a Stellar seed, a derived key) so that it cannot leak by accident: string
 * conversion, JSON and `util.inspect` (console.log, vitest diffs, pino-style loggers) all print a
 * placeholder. Only `reveal()` gives the value, and only the signer calls it.
 */
export class Secret<T = string> {
  readonly #value: T;

  constructor(value: T) {
    this.#value = value;
  }

  /** The raw value. Keep the result in a local; never put it in a message, event or log. */
  reveal(): T {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
