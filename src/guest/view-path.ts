/**
 * Transitional: moved to `src/protocol/view-path.ts` (the host runs it too, and the host never
 * imports guest code); removed when the guest files importing it here are moved.
 */
export { DEFAULT_DIR, MAX_PATH_LENGTH, resolveViewPath, type ViewPath } from "../protocol/view-path.ts";
