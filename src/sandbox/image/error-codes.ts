/** The codes of `ImageError` (errors.ts): snake_case, like every layer's. */
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
