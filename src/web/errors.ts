/** An expected failure of a console request; the server answers `{ error: message }` with its status. */
import { CodedError } from "../errors.ts";
import { HTTP_STATUS_OF, type WebErrorCode } from "./error-codes.ts";
export { WebErrorCode } from "./error-codes.ts";

export class WebError extends CodedError<WebErrorCode> {
  static override readonly errorName = "WebError";

  /** The HTTP status the code is answered with. */
  get status(): number {
    return HTTP_STATUS_OF[this.code];
  }
}
