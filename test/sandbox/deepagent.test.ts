/**
 * deepagents' own tools through MicroVMBackend inside a real microVM: `createDeepAgent` with a
 * scripted model (the only scripted part) doing ls, write_file, edit_file, grep, glob, read_file
 * and execute; then the VM's files are checked directly.
 */
import { AIMessage, ToolMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { createDeepAgent } from "deepagents";
import { MicroVMBackend } from "../../src/sandbox/backend.ts";
import { buildImage } from "../../src/sandbox/image/build.ts";
import { acquireTestVm, closeTestPool } from "../support/vm.ts";

let backend: MicroVMBackend;

/** Tool message content is a string or content blocks (read_file returns blocks). */
const textOf = (content: unknown): string =>
  typeof content === "string" ? content : (content as { type: string; text?: string }[]).map((b) => b.text ?? `[${b.type}]`).join("");

beforeAll(async () => {
  await buildImage(); // the VM runs this checkout's agent
  backend = await MicroVMBackend.create({ threadId: "deepagent-tools", vm: await acquireTestVm(), executeTimeoutMs: 60_000 });
});
afterAll(async () => {
  await backend?.close();
  await closeTestPool();
});

it("runs deepagents' file tools and execute inside the VM", async () => {
  const steps: { name: string; args: Record<string, unknown> }[] = [
    { name: "ls", args: { path: "/workspace" } },
    { name: "write_file", args: { file_path: "/workspace/report.md", content: "# Report\nrevenue: TBD\nrisk: low\n" } },
    { name: "edit_file", args: { file_path: "/workspace/report.md", old_string: "TBD", new_string: "42 $(whoami) `id`" } },
    { name: "grep", args: { pattern: "revenue", path: "/workspace" } },
    { name: "glob", args: { pattern: "**/*.md", path: "/workspace" } },
    { name: "read_file", args: { file_path: "/workspace/report.md" } },
    { name: "execute", args: { command: "wc -l < report.md; id -u; cat report.md | grep revenue" } },
    { name: "read_file", args: { file_path: "/etc/passwd" } },
  ];
  const model = fakeModel();
  steps.forEach((s, i) => model.respondWithTools([{ ...s, id: `call_${i}` }]));
  model.respond(new AIMessage({ id: "final", content: "Report written." }));

  const agent = createDeepAgent({ model, backend });
  const result = await agent.invoke({ messages: [{ role: "user", content: "Write the report." }] }, { configurable: { thread_id: "t1" }, recursionLimit: 60 });
  const tools = new Map(
    (result.messages as unknown[]).filter((m): m is ToolMessage => ToolMessage.isInstance(m)).map((m) => [m.tool_call_id, textOf(m.content)]),
  );

  expect(tools.size).toBe(steps.length);
  expect(tools.get("call_1")).toMatch(/report\.md/);
  expect(tools.get("call_2")).toMatch(/Successfully replaced 1/);
  expect(tools.get("call_3")).toMatch(/\/workspace\/report\.md/);
  expect(tools.get("call_3")).toMatch(/revenue: 42/);
  expect(tools.get("call_4")).toMatch(/^report\.md$/m); // glob: relative to its path, as in deepagents' sandboxes
  expect(tools.get("call_5")).toMatch(/revenue: 42 \$\(whoami\) `id`/);
  expect(tools.get("call_6")).toBe("3\n1000\nrevenue: 42 $(whoami) `id`\n\n[Command succeeded with exit code 0]");
  expect(tools.get("call_7")).toMatch(/outside the sandbox/);
  expect(String((result.messages as AIMessage[]).at(-1)!.content)).toBe("Report written.");
  expect(model.callCount).toBe(steps.length + 1);

  // The VM really holds the edited file (the model's `$(...)` and backticks stayed text).
  expect((await backend.read("/workspace/report.md")).content).toBe("# Report\nrevenue: 42 $(whoami) `id`\nrisk: low\n");
}, 180_000);
