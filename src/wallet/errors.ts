import { CodedError } from "../errors.ts";
import type { WalletErrorCode } from "./error-codes.ts";
export { WalletErrorCode } from "./error-codes.ts";

/**
 * One error type for the wallet. Messages never contain a secret: callers pass only public data
 * (addresses, amounts, ids) into `message`, and `cause` is kept off `toJSON` so a serialised error
 * cannot smuggle a nested secret-bearing object into a log or event.
 */
export class WalletError extends CodedError<WalletErrorCode> {
  static override readonly errorName = "WalletError";

  toJSON(): { name: string; code: WalletErrorCode; message: string } {
    return { name: this.name, code: this.code, message: this.message };
  }
}

