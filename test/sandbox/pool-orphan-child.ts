// Helper process for pool.test.ts: starts a pooled VM, prints its QEMU pid, then waits to be killed.
import { SandboxPool } from "../../src/sandbox/pool.ts";
import { getTestDriver, getTestImage } from "../support/vm.ts";

const pool = new SandboxPool({ driver: getTestDriver(), image: await getTestImage(), size: 0 });
const vm = await pool.acquire();
process.stdout.write(`qemu-pid ${vm.pid}\n`);
setInterval(() => {}, 1 << 30);
