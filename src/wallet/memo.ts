import { WalletError, WalletErrorCode } from "./errors.ts";

/** Stellar text memos hold at most 28 bytes. */
export const MAX_MEMO_BYTES = 28;

/**
 * A memo is free text that travels with the payment and nothing more: it is never read as an
 * instruction or an approval. Control characters and over-long memos are refused.
 */
export function parseMemo(input: unknown): string | undefined {
  if (input === undefined || input === null || input === "") return undefined;
  if (typeof input !== "string") throw new WalletError(WalletErrorCode.InvalidMemo, `memo must be a string, got ${typeof input}`);
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(input)) {
    throw new WalletError(WalletErrorCode.InvalidMemo, "memo must not contain control characters");
  }
  if (Buffer.byteLength(input, "utf8") > MAX_MEMO_BYTES) {
    throw new WalletError(WalletErrorCode.InvalidMemo, `memo is longer than ${MAX_MEMO_BYTES} bytes`);
  }
  return input;
}
