export { stateDir, statePath } from "./paths.ts";
export {
  assertThreadId,
  invalidThreadIdMessage,
  isThreadId,
  newThreadId,
  THREAD_ID_MAX_LENGTH,
  THREAD_ID_PATTERN,
  THREAD_ID_RULE,
  ThreadIdError,
  ThreadIdErrorCode,
} from "./thread-id.ts";
