export { stateDir, statePath } from "./paths.ts";
