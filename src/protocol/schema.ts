/**
 * A tiny checker-combinator set: each `Schema<T>` both checks an untrusted value and carries its
 * TypeScript type (`Infer<typeof s>`), so the protocol's types and both sides' validation come
 * from one value. Plain TypeScript, no dependencies: the guest bundles it.
 *
 * `parse` returns the checked value; objects come back with only their declared keys (what the
 * other side added is dropped, never passed on), and an optional field sent as `null` is absent.
 * A value that does not fit throws a `bad_value` ProtocolError, whose message names the field
 * (`result.entries[3].size must be an integer ≥ 0`).
 */

import { ProtocolErrorCode } from "./error-codes.ts";
import { ProtocolError } from "./errors.ts";

/** `at`: where in the value (`args.path`, `result.entries[3].size`); `expected`: what fits there (`a string`). */
function notFitting(at: string, expected: string): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.BadValue, `${at} must be ${expected}`);
}

export interface Schema<T> {
  /** What a fitting value is, for error messages (`a string`). */
  readonly expected: string;
  /** Checks `v` (found at `at`); returns it typed, or throws a `bad_value` ProtocolError. */
  parse(v: unknown, at?: string): T;
}

/** A field that may be left out (or sent as `null`) in an `object`. */
export interface OptionalSchema<T> extends Schema<T | undefined> {
  readonly optional: true;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

function schema<T>(expected: string, ok: (v: unknown) => boolean): Schema<T> {
  return {
    expected,
    parse(v, at = "value") {
      if (!ok(v)) throw notFitting(at, expected);
      return v as T;
    },
  };
}

export function string(opts: { max?: number } = {}): Schema<string> {
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  return schema(opts.max === undefined ? "a string" : `a string of at most ${max} characters`, (v) => typeof v === "string" && v.length <= max);
}

/** A safe integer in [min, max]. */
export function int(min = 0, max = Number.MAX_SAFE_INTEGER): Schema<number> {
  const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in [${min}, ${max}]`;
  return schema(`an integer ${range}`, (v) => typeof v === "number" && Number.isSafeInteger(v) && v >= min && v <= max);
}

/** Any finite number (times in ms carry fractions). */
export function num(): Schema<number> {
  return schema("a finite number", (v) => typeof v === "number" && Number.isFinite(v));
}

export function bool(): Schema<boolean> {
  return schema("a boolean", (v) => typeof v === "boolean");
}

/** One of a fixed set of strings (or other primitives). */
export function oneOf<const T extends string | number | boolean>(values: readonly T[]): Schema<T> {
  const set = new Set<unknown>(values);
  return schema(`one of ${values.map((v) => JSON.stringify(v)).join(", ")}`, (v) => set.has(v));
}

/** Anything JSON can carry (checked by whoever uses it). */
export function unknown(): Schema<unknown> {
  return schema("a value", () => true);
}

/** A string of the filesystem view: absolute, no NUL, bounded. */
export function viewPath(): Schema<string> {
  return schema("an absolute view path", (v) => typeof v === "string" && v.startsWith("/") && v.length <= 8192 && !v.includes("\0"));
}

export function nullable<T>(inner: Schema<T>): Schema<T | null> {
  return {
    expected: `${inner.expected} or null`,
    parse: (v, at = "value") => (v === null ? null : inner.parse(v, at)),
  };
}

export function optional<T>(inner: Schema<T>): OptionalSchema<T> {
  return {
    optional: true,
    expected: inner.expected,
    parse: (v, at = "value") => (v === undefined || v === null ? undefined : inner.parse(v, at)),
  };
}

export function array<T>(item: Schema<T>, opts: { max?: number } = {}): Schema<T[]> {
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  const expected = opts.max === undefined ? `an array of ${item.expected}` : `an array of at most ${max} × ${item.expected}`;
  return {
    expected,
    parse(v, at = "value") {
      if (!Array.isArray(v) || v.length > max) throw notFitting(at, expected);
      const out = new Array<T>(v.length);
      for (let i = 0; i < v.length; i++) out[i] = item.parse(v[i], `${at}[${i}]`);
      return out;
    },
  };
}

type Fields = Record<string, Schema<unknown>>;
type OptionalKeys<F extends Fields> = { [K in keyof F]: F[K] extends OptionalSchema<unknown> ? K : never }[keyof F];
type Flatten<T> = { [K in keyof T]: T[K] };
export type ObjectOf<F extends Fields> = Flatten<
  { [K in Exclude<keyof F, OptionalKeys<F>>]: Infer<F[K]> } & { [K in OptionalKeys<F>]?: Exclude<Infer<F[K]>, undefined> }
>;

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** An object with these fields (others are dropped); `optional(...)` fields may be absent. */
export function object<F extends Fields>(fields: F): Schema<ObjectOf<F>> & { readonly fields: F } {
  const entries = Object.entries(fields);
  return {
    fields,
    expected: "an object",
    parse(v, at = "value") {
      if (!isPlainObject(v)) throw notFitting(at, "an object");
      const out: Record<string, unknown> = {};
      for (const [key, field] of entries) {
        const value = field.parse(v[key], `${at}.${key}`);
        if (value !== undefined) out[key] = value;
      }
      return out as ObjectOf<F>;
    },
  };
}

/** An object used as a map from any key to values of one schema (command environments). */
export function record<T>(value: Schema<T>): Schema<Record<string, T>> {
  return {
    expected: `an object of ${value.expected}`,
    parse(v, at = "value") {
      if (!isPlainObject(v)) throw notFitting(at, `an object of ${value.expected}`);
      const out: Record<string, T> = {};
      for (const [k, x] of Object.entries(v)) out[k] = value.parse(x, `${at}[${JSON.stringify(k)}]`);
      return out;
    },
  };
}

/**
 * One of several object shapes told apart by the string in `key` (frame headers by `ev`).
 * Each variant's schema must declare `key` itself (as a `oneOf` of its tag) to keep it.
 */
export function tagged<K extends string, V extends Record<string, Schema<object>>>(key: K, variants: V): Schema<Infer<V[keyof V]>> {
  const names = Object.keys(variants);
  const expected = `an object whose ${key} is one of ${names.map((n) => JSON.stringify(n)).join(", ")}`;
  return {
    expected,
    parse(v, at = "value") {
      const tag = isPlainObject(v) ? v[key] : undefined;
      if (typeof tag !== "string" || !Object.hasOwn(variants, tag)) throw notFitting(at, expected);
      return variants[tag]!.parse(v, at) as Infer<V[keyof V]>;
    },
  };
}
