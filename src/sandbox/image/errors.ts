import { CodedError } from "../../errors.ts";
/** Errors of the guest-image builder. */
export const ImageErrorCode = {
  ToolMissing: "tool_missing",
  DownloadFailed: "download_failed",
  BadKernel: "bad_kernel",
  ModuleMissing: "module_missing",
  CommandFailed: "command_failed",
  AgentMissing: "agent_missing",
  NotBuilt: "not_built",
} as const;
export type ImageErrorCode = (typeof ImageErrorCode)[keyof typeof ImageErrorCode];

export class ImageError extends CodedError<ImageErrorCode> {
  override name = "ImageError";
  static isInstance(err: unknown): err is ImageError {
    return err instanceof Error && err.name === "ImageError" && typeof (err as ImageError).code === "string";
  }
}
