#!/usr/bin/env node
// Runs the compiled command (dist/cli, made by `npm run build`; setup.sh builds it): no TypeScript
// loader, packages bundled. A checkout whose build is missing or older than src/ (a developer's)
// runs the TypeScript sources through tsx instead, after a one-line notice: always correct, and
// nothing is written into the checkout behind the developer's back.
// VIBEWRITER_FROM_SOURCE=1 runs the sources through tsx without the notice.
import { cliBuild } from "../scripts/build.mjs";

async function entry() {
  const fromSource = process.env.VIBEWRITER_FROM_SOURCE === "1";
  const current = fromSource ? {} : cliBuild();
  if (current.entry) return current.entry;
  if (!fromSource) process.stderr.write(`vibewriter: running the TypeScript sources through tsx (compiled build: ${current.stale}; \`npm run build\` makes one).\n`);
  const { register } = await import("tsx/esm/api");
  register();
  return new URL("../src/cli/main.ts", import.meta.url).href;
}

// Source maps are written beside the build (dist/cli/<build>/*.map) but not loaded: with them on,
// every stack trace LangChain makes is mapped, ~0.5 s of a demo. For stack traces in src/ lines:
// NODE_OPTIONS=--enable-source-maps vibewriter …
const { main } = await import(await entry());
const code = await main(process.argv.slice(2));
// main() has already stopped what it started (VMs, embedded nats-server); exit now rather than
// wait for a handle left behind by an interrupted run. stdout/stderr are synchronous for files
// and pipes on Linux, so nothing printed is lost.
process.exit(code);
