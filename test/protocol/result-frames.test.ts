/** Results of any size: inline when they fit a header, else result-tagged data frames. */
import { eventHeader, FrameDecoder, MAX_FRAME_BODY, MAX_INLINE_RESULT, parseResultJson, resultFrames } from "../../src/protocol/index.ts";

const decode = (frames: Iterable<Buffer>) => new FrameDecoder().push(Buffer.concat([...frames])).map((f) => ({ header: eventHeader.parse(f.header), body: f.body }));

it("a small result is one frame, carrying the last bytes of a read in its body", () => {
  const frames = decode(resultFrames(7, { size: 3 }, Buffer.from("abc")));
  expect(frames).toEqual([{ header: { id: 7, ev: "result", value: { size: 3 } }, body: Buffer.from("abc") }]);
});

it("a result bigger than a header travels as data frames and comes back whole", () => {
  // 40,000 entries of unicode paths: ~2.6 MB of JSON, three frame bodies.
  const value = { entries: Array.from({ length: 40_000 }, (_, i) => ({ path: `/workspace/dïr/file-${i}.txt`, type: "file", size: i, mtimeMs: 1.5 })) };
  const frames = decode(resultFrames(9, value, Buffer.from("tail")));
  const parts = frames.filter((f) => f.header.ev === "data" && f.header.result);
  const last = frames.at(-1)!;
  expect(frames[0]).toEqual({ header: { id: 9, ev: "data" }, body: Buffer.from("tail") });
  expect(parts.length).toBeGreaterThan(1);
  expect(parts.every((p) => p.body.length <= MAX_FRAME_BODY)).toBe(true);
  expect(last.header).toEqual({ id: 9, ev: "result", json: Buffer.byteLength(JSON.stringify(value)) });
  expect(parseResultJson(parts.map((p) => p.body), (last.header as { json: number }).json)).toEqual(value);
});

it("the inline limit counts UTF-8 bytes, not characters", () => {
  const justFits = { s: "x".repeat(MAX_INLINE_RESULT - 10) };
  expect(decode(resultFrames(1, justFits))).toHaveLength(1);
  const wide = { s: "€".repeat(Math.ceil(MAX_INLINE_RESULT / 3) + 10) }; // 3 bytes each
  expect(decode(resultFrames(1, wide)).at(-1)!.header).toMatchObject({ ev: "result", json: expect.any(Number) });
});

it("refuses parts that do not add up to the declared JSON", () => {
  expect(() => parseResultJson([Buffer.from('{"a":1}')], 8)).toThrow("result JSON is 7 bytes, declared 8");
  expect(() => parseResultJson([Buffer.from('{"a":'), Buffer.from("}")], 6)).toThrow("does not parse");
});
