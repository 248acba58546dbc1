#!/usr/bin/env node
// Bundles the guest agent: node scripts/build-guest.mjs [outFile] (default dist/guest/agent.mjs).
import { tsImport } from "tsx/esm/api";

const { buildGuestAgent, DEFAULT_AGENT_OUT } = await tsImport("../src/sandbox/image/guest-agent-bundle.ts", import.meta.url);
const out = process.argv[2] ?? DEFAULT_AGENT_OUT;
await buildGuestAgent(out);
console.log(`guest agent → ${out}`);
