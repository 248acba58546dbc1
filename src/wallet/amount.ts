import { WalletError, WalletErrorCode } from "./errors.ts";

/** Stellar amounts have exactly 7 decimal places; one stroop is 0.0000001. */
export const STROOPS_PER_UNIT = 10_000_000n;
/** The largest amount a Stellar payment can carry (int64 stroops). */
export const MAX_STROOPS = 9_223_372_036_854_775_807n;

/** Plain decimal, no sign, no exponent, no spaces, no leading zeros, at most 7 decimals. */
const DECIMAL = /^(0|[1-9][0-9]*)(\.[0-9]{1,7})?$/;

/**
 * Parses an amount string into integer stroops. Strict on purpose: anything a model could use to
 * disguise a number (`-5`, `1e3`, ` 10`, `0x10`, `10.00000001`, `Infinity`, `١٠`) is an error, not
 * something we try to interpret. Numbers (JS floats) are refused outright: the caller must pass the
 * decimal text it was given.
 */
export function parseAmount(input: unknown, { allowZero = false }: { allowZero?: boolean } = {}): bigint {
  if (typeof input !== "string") {
    throw new WalletError(WalletErrorCode.InvalidAmount, `amount must be a decimal string like "12.5", got ${typeof input}`);
  }
  if (!DECIMAL.test(input)) {
    throw new WalletError(
      WalletErrorCode.InvalidAmount,
      `amount ${JSON.stringify(input.slice(0, 40))} is not a plain positive decimal with at most 7 decimal places`,
    );
  }
  const [whole, frac = ""] = input.split(".");
  const stroops = BigInt(whole) * STROOPS_PER_UNIT + BigInt(frac.padEnd(7, "0"));
  if (stroops > MAX_STROOPS) {
    throw new WalletError(WalletErrorCode.InvalidAmount, `amount ${input} exceeds the largest Stellar amount`);
  }
  if (stroops === 0n && !allowZero) {
    throw new WalletError(WalletErrorCode.InvalidAmount, "amount must be greater than zero");
  }
  return stroops;
}

/** Stroops back to the canonical decimal text (no trailing zeros; "0" for zero). */
export function formatAmount(stroops: bigint): string {
  if (stroops < 0n) throw new WalletError(WalletErrorCode.InvalidAmount, "negative amount");
  const whole = stroops / STROOPS_PER_UNIT;
  const frac = (stroops % STROOPS_PER_UNIT).toString().padStart(7, "0").replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : `${whole}`;
}
