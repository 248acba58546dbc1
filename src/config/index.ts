/** The lowest layer: where state lives, what /proc says of a process, the environment child processes get, which variables hold secrets, the thread id rule. */
export { childEnv, proxyEnv } from "./child-env.ts";
export { stateDir, statePath } from "./paths.ts";
export { pidAlive, processRunning, procStat } from "./proc-stat.ts";
export { secretRedactor } from "./secret-env.ts";
export { assertThreadId, isThreadId, newThreadId, THREAD_ID_PATTERN, THREAD_ID_RULE } from "./thread-id.ts";
