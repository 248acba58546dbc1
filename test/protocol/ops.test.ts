/** One schema per op: the arguments the guest accepts and the results the host accepts. */
import { isOp, type Op, OP_SCHEMAS, ProtocolError, ProtocolErrorCode } from "../../src/protocol/index.ts";
import { OPS } from "../../src/protocol/ops.ts";

const argsRefusal = (op: Op, args: unknown): string => {
  try {
    OP_SCHEMAS[op].args.parse(args, "args");
    return "accepted";
  } catch (err) {
    if (ProtocolError.isInstance(err, ProtocolErrorCode.BadValue)) return err.message;
    throw err;
  }
};

it("names every op once, and nothing else is an op", () => {
  expect(new Set(OPS).size).toBe(OPS.length);
  expect(OPS).toContain("exec");
  expect(isOp("read")).toBe(true);
  expect(isOp("constructor")).toBe(false);
  expect(isOp("chunk")).toBe(false);
});

it("checks arguments by shape and names the bad one", () => {
  expect(argsRefusal("read", { path: "/workspace/a", lines: { offset: 0, limit: 10 } })).toBe("accepted");
  expect(argsRefusal("read", { path: 7 })).toBe("args.path must be a string");
  expect(argsRefusal("read", { path: "/a", lines: { limit: -1 } })).toBe("args.lines.limit must be an integer ≥ 0");
  expect(argsRefusal("glob", { pattern: "*", limit: 0 })).toBe("args.limit must be an integer ≥ 1");
  expect(argsRefusal("exec", { argv: ["ls", 1] })).toBe("args.argv[1] must be a string");
  expect(argsRefusal("exec", { shell: "true", env: { A: 1 } })).toBe('args.env["A"] must be a string');
  expect(argsRefusal("exec", { shell: "true", timeoutMs: 0 })).toBe("args.timeoutMs must be an integer in [1, 86400000]");
  expect(argsRefusal("upload", { files: [{ path: "/workspace/a" }] })).toBe("args.files[0].size must be an integer ≥ 0");
  expect(argsRefusal("cancel", { target: 0 })).toBe("args.target must be an integer ≥ 1");
  // What a value means (inside the view, non-empty argv) is the handler's to check, with its own code.
  expect(argsRefusal("read", { path: "../../etc/passwd" })).toBe("accepted");
});

it("checks results, keeping only what the protocol declares", () => {
  const read = OP_SCHEMAS.read.result.parse({ size: 3, mtimeMs: 1.5, ctimeMs: 2, totalLines: 1, secret: "dropped" });
  expect(read).toEqual({ size: 3, mtimeMs: 1.5, ctimeMs: 2, totalLines: 1 });
  // Required on both sides now (it drifted: required in the guest's type, optional in the host's check).
  expect(() => OP_SCHEMAS.read.result.parse({ size: 3, mtimeMs: 1.5 }, "result")).toThrow("result.ctimeMs must be a finite number");
  expect(() => OP_SCHEMAS.stat.result.parse({ path: "/etc/passwd", type: "file", size: -1, mtimeMs: 0 }, "result")).toThrow("result.size");
  expect(() => OP_SCHEMAS.stat.result.parse({ path: "relative", type: "file", size: 1, mtimeMs: 0 }, "result")).toThrow("result.path must be an absolute view path");
  expect(() => OP_SCHEMAS.upload.result.parse({ results: [{ path: "/a", error: "made_up" }] }, "result")).toThrow("result.results[0].error must be one of");
});

it("says what each op streams before its result", () => {
  expect(OP_SCHEMAS.exec.streams).toEqual({ start: true, data: "stream" });
  expect(OP_SCHEMAS.download.streams).toEqual({ data: "part" });
  expect(OP_SCHEMAS.read.streams).toEqual({ data: "bytes" });
  expect(OP_SCHEMAS.ls.streams).toEqual({});
});
