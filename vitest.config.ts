import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    globals: true, // @langchain/langgraph-checkpoint-validation needs describe/it as globals
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // VMs under TCG and nats-server are heavy: two cores, so keep files sequential-ish.
    fileParallelism: false,
    pool: "forks",
  },
});
