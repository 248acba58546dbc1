/**
 * Results and arguments bigger than a frame header, on a real VM: the guest sends a big result as
 * result-tagged data frames, the host reassembles and checks it, and big arguments (an upload whose
 * file list exceeds a header) travel in the request body. Nothing comes back as "frame header too large".
 */
import { MAX_FRAME_HEADER } from "../../src/protocol/limits.ts";
import { GuestClient } from "../../src/sandbox/guest-client.ts";
import type { VmHandle } from "../../src/sandbox/vmm/driver.ts";
import { acquireTestVm, closeTestPool } from "../support/vm.ts";

let vm: VmHandle;
let client: GuestClient;

beforeAll(async () => {
  vm = await acquireTestVm();
  client = await GuestClient.connect(await vm.channel());
}, 120_000);
afterAll(async () => {
  client?.close();
  await vm?.kill();
  await closeTestPool();
});

/** Empty files in one `upload` request: its file list alone is bigger than a frame header. */
async function uploadEmpty(paths: string[]): Promise<void> {
  expect(JSON.stringify(paths).length).toBeGreaterThan(MAX_FRAME_HEADER);
  const { value } = await client.request("upload", { files: paths.map((path) => ({ path, size: 0 })) });
  expect(value.results.filter((r) => r.error)).toEqual([]);
}

/** Many empty files made by one command in the guest (an upload costs a few ms per file under TCG). */
async function makeEmpty(dir: string, names: string[]): Promise<void> {
  const script = "import os,sys\nos.makedirs(sys.argv[1], exist_ok=True)\nfor n in sys.stdin.read().split('\\n'):\n    os.makedirs(os.path.dirname(os.path.join(sys.argv[1], n)), exist_ok=True)\n    open(os.path.join(sys.argv[1], n), 'w').close()\n";
  const { value } = await client.request("exec", { argv: ["python3", "-c", script, dir], stdin: true }, { body: Buffer.from(names.join("\n")) });
  expect(value.exitCode).toBe(0);
}

it("ls of a 4,000-entry directory comes back whole; an upload whose file list exceeds a header arrives", async () => {
  // 1,200 long names (241 bytes, under NAME_MAX) travel in one upload: arguments past the header
  // limit; 2,800 more are made by a command.
  const long = Array.from({ length: 1200 }, (_, i) => `an-entry-with-a-very-long-name-${"x".repeat(200)}-${String(i).padStart(5, "0")}.txt`);
  const short = Array.from({ length: 2800 }, (_, i) => `an-entry-with-a-rather-long-name-${String(i).padStart(5, "0")}.txt`);
  await uploadEmpty(long.map((n) => `/workspace/wide/${n}`));
  await makeEmpty("/workspace/wide", short);
  const { value } = await client.request("ls", { path: "/workspace/wide" });
  expect(JSON.stringify(value).length).toBeGreaterThan(MAX_FRAME_HEADER);
  expect(value.truncated).toBe(false);
  expect(value.entries.map((e) => e.path).sort()).toEqual([...long, ...short].map((n) => `/workspace/wide/${n}`).sort());
}, 120_000);

it("glob over 10,000 files comes back whole", async () => {
  const names = Array.from({ length: 10_000 }, (_, i) => `d${i % 10}/file-${i}.md`);
  await makeEmpty("/workspace/many", names);
  const { value } = await client.request("glob", { pattern: "**/*.md", path: "/workspace/many" });
  expect(value.truncated).toBe(false);
  expect(value.paths.map((p) => p.path).sort()).toEqual(names.map((n) => `/workspace/many/${n}`).sort());
}, 120_000);

it("grep with 10,000 matches comes back whole", async () => {
  const text = Array.from({ length: 10_000 }, (_, i) => `line ${i}: the needle is here, with some words around it`).join("\n");
  await client.request("write", { path: "/workspace/haystack.txt", size: Buffer.byteLength(text) }, { body: Buffer.from(text) });
  const { value } = await client.request("grep", { pattern: "needle", path: "/workspace/haystack.txt" });
  expect(value.truncated).toBe(false);
  expect(value.matches).toHaveLength(10_000);
  expect(value.matches[9999]).toEqual({ path: "/workspace/haystack.txt", line: 10_000, text: "line 9999: the needle is here, with some words around it" });
}, 120_000);
