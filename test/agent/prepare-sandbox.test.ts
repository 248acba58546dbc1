/**
 * What a thread's sandbox is given before a run (real nats-server; the sandbox is a recorder of the
 * files it receives): the sources, and for a VM that replaces the first mid-run, the sources the
 * run has stored by then.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FileUploadResponse, SandboxBackendProtocolV2 } from "deepagents";
import { prepareSandbox } from "../../src/agent/prepare-sandbox.ts";
import { loadSourcesDir, SOURCE_PATHS } from "../../src/agent/sources.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";

let t: TestNats;
let dir: string;
beforeAll(async () => {
  t = await startTestNats();
  dir = await mkdtemp(join(tmpdir(), "vw-prepare-"));
});
afterAll(async () => {
  await t?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A sandbox that keeps what it is sent, by path. */
function recorder() {
  const files = new Map<string, string>();
  const take = async (list: Array<[string, Uint8Array]>): Promise<FileUploadResponse[]> =>
    list.map(([path, data]) => (files.set(path, new TextDecoder().decode(data)), { path, error: null }));
  return { files, sandbox: { uploadFiles: take, installFiles: take } };
}

/** The source a markdown file `name`.md becomes. */
async function sourceFrom(name: string, text: string) {
  await writeFile(join(dir, `${name}.md`), text);
  return (await loadSourcesDir(dir)).filter((s) => s.origin === `${name}.md`);
}

it("a VM that replaces the first mid-run gets every source stored so far, under the whole index", async () => {
  const first = recorder();
  const initial = await sourceFrom("filing", "# Filing\n\nRevenue was $1 million.\n");
  const { sources, replacementSetup } = await prepareSandbox({
    sandbox: first.sandbox as unknown as SandboxBackendProtocolV2,
    backbone: t.backbone,
    threadId: "prepare-later",
    emit: async () => {},
    skillDirs: [],
    newSources: initial,
  });
  expect(JSON.parse(first.files.get(SOURCE_PATHS.sandboxIndex)!).map((i: { id: string }) => i.id)).toEqual([initial[0]!.id]);

  // Mid-run the agent stores a page it fetched; then the VM dies and a fresh one is set up.
  const later = await sourceFrom("page", "# Page\n\nThe auditor found a weakness.\n");
  expect(await sources.add(later, first.sandbox)).toBe("");
  const fresh = recorder();
  await replacementSetup(fresh.sandbox);

  const index = JSON.parse(fresh.files.get(SOURCE_PATHS.sandboxIndex)!) as { id: string }[];
  expect(index.map((i) => i.id)).toEqual([initial[0]!.id, later[0]!.id]);
  expect(fresh.files.get(SOURCE_PATHS.sandboxFile(later[0]!.id))).toContain("The auditor found a weakness.");
});
