/** The checker combinators the protocol is written with: what they accept, keep, and how they refuse. */
import { ProtocolError } from "../../src/protocol/errors.ts";
import { ProtocolErrorCode } from "../../src/protocol/error-codes.ts";
import { array, bool, int, nullable, num, object, oneOf, optional, record, string, tagged, viewPath } from "../../src/protocol/schema.ts";

const refusal = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    if (ProtocolError.isInstance(err, ProtocolErrorCode.BadValue)) return err.message;
    throw err;
  }
  return "accepted";
};

describe("scalars", () => {
  it("check type and range, and say what they expected", () => {
    expect(int(1, 10).parse(3)).toBe(3);
    expect(refusal(() => int(1, 10).parse(11, "args.limit"))).toBe("args.limit must be an integer in [1, 10]");
    expect(refusal(() => int().parse(1.5, "x"))).toBe("x must be an integer ≥ 0");
    expect(refusal(() => int().parse(-1, "x"))).toBe("x must be an integer ≥ 0");
    expect(refusal(() => num().parse(Number.NaN, "t"))).toBe("t must be a finite number");
    expect(num().parse(1.25)).toBe(1.25);
    expect(refusal(() => string({ max: 3 }).parse("abcd", "s"))).toBe("s must be a string of at most 3 characters");
    expect(refusal(() => bool().parse("true", "b"))).toBe("b must be a boolean");
    expect(oneOf(["a", "b"]).parse("b")).toBe("b");
    expect(refusal(() => oneOf(["a", "b"]).parse("c", "k"))).toBe('k must be one of "a", "b"');
  });

  it("view paths are absolute, without NUL, bounded", () => {
    expect(viewPath().parse("/workspace/a b")).toBe("/workspace/a b");
    for (const bad of ["workspace", "/a\0b", `/${"x".repeat(9000)}`, 1]) expect(refusal(() => viewPath().parse(bad, "p"))).toBe("p must be an absolute view path");
  });
});

describe("object", () => {
  const file = object({ path: string(), size: optional(int()), mode: nullable(int()) });

  it("keeps only declared fields and drops absent or null optional ones", () => {
    expect(file.parse({ path: "/a", size: null, mode: null, extra: "dropped" })).toEqual({ path: "/a", mode: null });
    expect(file.parse({ path: "/a", size: 2, mode: 7 })).toEqual({ path: "/a", size: 2, mode: 7 });
  });

  it("names the field that does not fit, however deep", () => {
    const listing = object({ entries: array(file) });
    expect(refusal(() => listing.parse({ entries: [{ path: "/a", mode: 1 }, { path: "/b", mode: 1, size: -2 }] }, "result"))).toBe(
      "result.entries[1].size must be an integer ≥ 0",
    );
    expect(refusal(() => listing.parse([], "result"))).toBe("result must be an object");
    expect(refusal(() => file.parse({ size: 1, mode: null }, "args"))).toBe("args.path must be a string");
  });

  it("arrays and records check every element, arrays their length", () => {
    expect(refusal(() => array(int(), { max: 2 }).parse([1, 2, 3], "xs"))).toBe("xs must be an array of at most 2 × an integer ≥ 0");
    expect(record(string()).parse({ A: "1", B: "2" })).toEqual({ A: "1", B: "2" });
    expect(refusal(() => record(string()).parse({ A: 1 }, "env"))).toBe('env["A"] must be a string');
  });
});

describe("tagged", () => {
  const event = tagged("ev", {
    start: object({ ev: oneOf(["start"]), pid: int() }),
    end: object({ ev: oneOf(["end"]), code: int() }),
  });

  it("picks the variant by its tag and checks it", () => {
    expect(event.parse({ ev: "start", pid: 4, more: 1 })).toEqual({ ev: "start", pid: 4 });
    expect(refusal(() => event.parse({ ev: "end", pid: 4 }, "frame"))).toBe("frame.code must be an integer ≥ 0");
    expect(refusal(() => event.parse({ ev: "explode" }, "frame"))).toBe('frame must be an object whose ev is one of "start", "end"');
    // An inherited property is not a tag.
    expect(refusal(() => event.parse({ ev: "toString" }, "frame"))).toContain("must be an object whose ev");
  });
});
