/** Frames on the wire: a JSON header and a raw body, decoded however the bytes are cut. */
import { encodeFrame, encodeFrameJson, FrameDecoder, MAX_FRAME_BODY } from "../../src/protocol/index.ts";
import { ProtocolError } from "../../src/protocol/errors.ts";
import { MAX_FRAME_HEADER } from "../../src/protocol/limits.ts";

it("round-trips headers and binary bodies, whatever the chunking", () => {
  const body = Buffer.from([0, 255, 10, 13, 0]);
  const bytes = Buffer.concat([encodeFrame({ id: 1, ev: "data" }, body), encodeFrame({ id: 2, op: "stat", args: { path: "/wörkspace" } })]);
  for (const cut of [1, 3, 8, 9, bytes.length]) {
    const decoder = new FrameDecoder();
    const frames = [];
    for (let at = 0; at < bytes.length; at += cut) frames.push(...decoder.push(bytes.subarray(at, at + cut)));
    expect(frames.map((f) => f.header)).toEqual([{ id: 1, ev: "data" }, { id: 2, op: "stat", args: { path: "/wörkspace" } }]);
    expect(frames[0]!.body).toEqual(body);
    expect(frames[1]!.body.length).toBe(0);
  }
});

it("hands out one frame at a time and gives back the bytes after it", () => {
  const decoder = new FrameDecoder();
  const second = encodeFrame({ id: 2 }, Buffer.from("rest"));
  decoder.feed(Buffer.concat([encodeFrame({ id: 1 }), second]));
  expect(decoder.next()?.header).toEqual({ id: 1 });
  expect(decoder.rest()).toEqual(second);
  expect(decoder.next()).toBeNull();
});

it("a pre-serialised header makes the same frame", () => {
  expect(encodeFrameJson('{"id":3,"ev":"result","value":{}}')).toEqual(encodeFrame({ id: 3, ev: "result", value: {} }));
});

it("refuses to encode or decode oversized or malformed frames", () => {
  const thrown = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e;
    }
  };
  expect(ProtocolError.isInstance(thrown(() => encodeFrame({ big: "x".repeat(MAX_FRAME_HEADER) })), "bad_frame")).toBe(true);
  expect(ProtocolError.isInstance(thrown(() => encodeFrame({}, Buffer.alloc(MAX_FRAME_BODY + 1))), "bad_frame")).toBe(true);
  const prefix = (h: number, b: number): Buffer => {
    const p = Buffer.alloc(8);
    p.writeUInt32BE(h, 0);
    p.writeUInt32BE(b, 4);
    return p;
  };
  expect(() => new FrameDecoder().push(prefix(MAX_FRAME_HEADER + 1, 0))).toThrow("oversized frame");
  expect(() => new FrameDecoder().push(prefix(0, MAX_FRAME_BODY + 1))).toThrow("oversized frame");
  expect(() => new FrameDecoder().push(Buffer.concat([prefix(3, 0), Buffer.from("{x}")]))).toThrow("not JSON");
  expect(() => new FrameDecoder().push(Buffer.concat([prefix(2, 0), Buffer.from("[]")]))).toThrow("not an object");
});
