/**
 * deepagents' sandbox contract as the model meets it: the exact result and error strings of its
 * `BaseSandbox` (deepagents 1.14, `backends/sandbox.ts`), which its tools pass on verbatim
 * ("Error: " + read errors, "Error listing files: " + ls errors, grep/write/edit/delete errors as
 * they are). `MicroVMBackend` answers with these so prompts and models written against
 * deepagents' sandboxes read ours the same way; `test/sandbox/contract.test.ts` proves it against
 * BaseSandbox itself and lists the few places where we keep our own answer on purpose.
 */

export const EMPTY_CONTENT_WARNING = "System reminder: File exists but has empty contents";

/** Paths appear as the caller gave them (BaseSandbox never normalises). */
export const Says = {
  /** read / readRaw: missing, a directory, or unreadable. read_file prefixes "Error: ". */
  readNotFound: (path: string) => `File '${path}' not found`,
  /** read past the last line (deepagents' FilesystemBackend wording; see the contract test). */
  offsetPastEnd: (offset: number, total: number) => `Line offset ${offset} exceeds file length (${total} lines)`,
  writeFailed: (path: string, code: string) => `Failed to write to ${path}: ${code}`,
  editFileNotFound: (path: string) => `Error: File '${path}' not found`,
  editStringNotFound: (path: string) => `String not found in file '${path}'`,
  editAmbiguous: (path: string) => `Multiple occurrences found in '${path}'. Use replaceAll=true to replace all.`,
  editEmptyOld: "oldString must not be empty unless the file is empty",
  editWriteFailed: (path: string, code: string) => `Failed to write edited file '${path}': ${code}`,
  deleteNotFound: (path: string) => `Error: '${path}' not found`,
  /** `detail` is what `rm` would have printed. */
  deleteFailed: (path: string, detail: string) => `Error deleting file '${path}': ${detail}`,
} as const;

export type EditOutcome = { error: string } | { occurrences: number; text: string | null };

/**
 * BaseSandbox's edit rules applied to a file's text (`text: null` in the outcome: nothing to
 * write). Used where the decision is made on the host: empty `oldString`, `oldString ===
 * newString`, and files the model may read but not write.
 */
export function editOutcome(path: string, text: string, oldString: string, newString: string, replaceAll: boolean): EditOutcome {
  if (oldString.length === 0) {
    if (text.length !== 0) return { error: Says.editEmptyOld };
    return newString.length === 0 ? { occurrences: 0, text: null } : { occurrences: 1, text: newString };
  }
  const first = text.indexOf(oldString);
  if (first === -1) return { error: Says.editStringNotFound(path) };
  if (oldString === newString) return { occurrences: 1, text: null };
  if (!replaceAll) {
    if (text.indexOf(oldString, first + oldString.length) !== -1) return { error: Says.editAmbiguous(path) };
    return { occurrences: 1, text: text.slice(0, first) + newString + text.slice(first + oldString.length) };
  }
  const parts = text.split(oldString);
  return { occurrences: parts.length - 1, text: parts.join(newString) };
}

/** A listing's `modified_at`: BaseSandbox reads whole seconds (`find -printf %T@`, truncated). */
export function modifiedAt(mtimeMs: number): string {
  return new Date(Math.floor(mtimeMs / 1000) * 1000).toISOString();
}
