/** Host-side path confinement and the workspace ↔ store name mapping (pure). */
import { confinePath, workspaceRelative, workspaceView } from "../../src/sandbox/paths.ts";

describe("confinePath", () => {
  it.each([
    ["/workspace/a/../b.txt", "/workspace/b.txt"],
    ["notes.md", "/workspace/notes.md"],
    ["/workspace//x///y/", "/workspace/x/y"],
    ["/skills/s/SKILL.md", "/skills/s/SKILL.md"],
    ["/large_tool_results/c1", "/large_tool_results/c1"],
    ["/", "/"],
  ])("reads %s as %s", (input, view) => {
    expect(confinePath(input, "read")).toEqual({ ok: true, view });
  });

  it.each([
    ["/workspace/../etc/passwd", "permission_denied"],
    ["../../etc/shadow", "permission_denied"],
    ["/etc/passwd", "permission_denied"],
    ["/workspacex/file", "permission_denied"],
    ["/workspace/a\0b", "invalid_path"],
    ["", "invalid_path"],
    ["/".repeat(5000), "invalid_path"],
  ])("refuses %s", (input, code) => {
    expect(confinePath(input, "read")).toMatchObject({ ok: false, code });
  });

  it("refuses non-strings and writes to read-only places", () => {
    expect(confinePath(42, "read")).toMatchObject({ ok: false, code: "invalid_path" });
    expect(confinePath("/skills/x", "write")).toMatchObject({ ok: false, code: "permission_denied" });
    expect(confinePath("/", "write")).toMatchObject({ ok: false, code: "permission_denied" });
    expect(confinePath("/tmp/x", "write")).toEqual({ ok: true, view: "/tmp/x" });
  });
});

describe("workspace names", () => {
  it("maps workspace files (and deepagents' offload folders) to store names and back", () => {
    expect(workspaceRelative("/workspace/a/b.txt")).toBe("a/b.txt");
    expect(workspaceRelative("/large_tool_results/c1")).toBe(".large_tool_results/c1");
    expect(workspaceRelative("/tmp/x")).toBeNull();
    expect(workspaceRelative("/skills/x")).toBeNull();
    expect(workspaceView("a/b.txt")).toBe("/workspace/a/b.txt");
    expect(workspaceView(".large_tool_results/c1")).toBe("/large_tool_results/c1");
    expect(workspaceView(".conversation_history/t.md")).toBe("/conversation_history/t.md");
  });
});
