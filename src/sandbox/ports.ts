/**
 * What the sandbox needs from outside, as ports its caller supplies (the composition root in
 * `src/app/` wires the NATS Object Store to them; a test may pass an in-memory one). The sandbox
 * imports no NATS: a change in the backbone touches the adapter, not the VM code.
 */

/**
 * Where a thread's /workspace is persisted: a flat namespace of named blobs. Names are
 * `threads/<threadId>/workspace/<relpath>` (`workspacePrefix`).
 */
export interface WorkspaceStore {
  /** `isNew`: the caller saved nothing under this name (a store may skip looking for it). */
  put(name: string, data: Uint8Array, opts?: { isNew?: boolean }): Promise<void>;
  /** null when there is no such object. */
  get(name: string): Promise<Uint8Array | null>;
  /** Names starting with `prefix`. */
  list(prefix: string): Promise<string[]>;
  /** Deleting a missing name is not an error. */
  delete(name: string): Promise<void>;
}

export function workspacePrefix(threadId: string): string {
  return `threads/${threadId}/workspace/`;
}
