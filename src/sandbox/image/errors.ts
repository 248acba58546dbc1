import { CodedError } from "../../errors.ts";
import type { ImageErrorCode } from "./error-codes.ts";
export { ImageErrorCode } from "./error-codes.ts";

/** Errors of the guest-image builder. */
export class ImageError extends CodedError<ImageErrorCode> {
  static override readonly errorName = "ImageError";
}

