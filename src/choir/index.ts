/** The Choir: publishing reports, citation and reward signals between agents. */
export { Choir } from "./choir.ts";
export { ChoirErrorCode } from "./error-codes.ts";
export { ChoirError } from "./errors.ts";
export { REPORT_ID } from "./names.ts";
