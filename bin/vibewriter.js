#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so a checkout needs no build step.
import { register } from "tsx/esm/api";
register();
const { main } = await import("../src/cli/main.ts");
const code = await main(process.argv.slice(2));
// main() has already stopped what it started (VMs, embedded nats-server); exit now rather than
// wait for a handle left behind by an interrupted run. stdout/stderr are synchronous for files
// and pipes on Linux, so nothing printed is lost.
process.exit(code);
