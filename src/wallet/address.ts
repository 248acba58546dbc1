import { StrKey } from "@stellar/stellar-sdk";
import { WalletError, WalletErrorCode } from "./errors.ts";

/** A Stellar account id: "G" + 55 characters of upper-case base32, with a valid checksum. */
export type StellarAddress = string & { readonly __brand: "StellarAddress" };

/**
 * Accepts only an exactly valid account id. Nothing is trimmed or upper-cased: a destination a
 * model disguised with spaces, zero-width characters, look-alike letters or a different case is
 * refused (and the error says so), never "fixed" into something that matches the allowlist.
 */
export function parseStellarAddress(input: unknown): StellarAddress {
  if (typeof input !== "string") {
    throw new WalletError(WalletErrorCode.InvalidAddress, `destination must be a string, got ${typeof input}`);
  }
  if (/^G[A-Z2-7]{55}$/.test(input) && StrKey.isValidEd25519PublicKey(input)) return input as StellarAddress;
  // Never echo something that looks like a secret seed back into a message the model will read.
  if (/S[A-Z2-7]{55}/i.test(input.replace(/\s/g, ""))) {
    throw new WalletError(WalletErrorCode.InvalidAddress, "destination looks like a secret seed, not an account id; refused");
  }
  const shown = JSON.stringify(input.slice(0, 64));
  const folded = input.normalize("NFKC").replace(/[\s\u200b-\u200d\u2060\ufeff]/g, "").toUpperCase();
  if (folded !== input && StrKey.isValidEd25519PublicKey(folded)) {
    throw new WalletError(
      WalletErrorCode.InvalidAddress,
      `destination ${shown} is not an exact Stellar address (it contains whitespace, invisible characters or the wrong case)`,
    );
  }
  throw new WalletError(WalletErrorCode.InvalidAddress, `destination ${shown} is not a valid Stellar account id`);
}

export function isStellarAddress(input: unknown): input is StellarAddress {
  return typeof input === "string" && /^G[A-Z2-7]{55}$/.test(input) && StrKey.isValidEd25519PublicKey(input);
}
