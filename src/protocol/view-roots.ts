/**
 * The filesystem view the sandbox exposes. `/large_tool_results` and `/conversation_history` are
 * where deepagents offloads big tool results and history; they live inside `/workspace` so they are
 * persisted with it.
 */
export const VIEW_ROOTS = [
  { path: "/workspace", real: "/workspace", writable: true },
  { path: "/skills", real: "/skills", writable: false },
  { path: "/tmp", real: "/tmp", writable: true },
  { path: "/large_tool_results", real: "/workspace/.large_tool_results", writable: true },
  { path: "/conversation_history", real: "/workspace/.conversation_history", writable: true },
] as const;

export interface ViewRoot {
  /** Path as the model sees it. */
  path: string;
  /** Where it lives on the guest's filesystem. */
  real: string;
  writable: boolean;
}
