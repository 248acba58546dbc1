/**
 * Transitional: removed when the ops still importing it are moved to `src/protocol/` (the one
 * protocol definition, shared by host and guest).
 */
export * from "../protocol/index.ts";
