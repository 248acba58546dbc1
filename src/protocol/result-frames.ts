/**
 * How a result crosses the channel whatever its size: inline in the `result` header when its JSON
 * fits (MAX_INLINE_RESULT), else as `data` frames tagged `result: true` holding the JSON's bytes,
 * ended by `{ ev: "result", json: byteLength }`. The guest encodes with `resultFrames`; the host
 * collects the parts (under its own cap) and decodes them with `parseResultJson`.
 */
import { encodeFrame, encodeFrameJson } from "./framing.ts";
import { MAX_FRAME_BODY, MAX_INLINE_RESULT } from "./limits.ts";

/**
 * The frames that end request `id` with `value`, made one at a time as they are written (a big
 * result is not held twice over). `body`: the request's last untagged data part, carried by the
 * result frame (a small read is then one frame).
 */
export function* resultFrames(id: number, value: unknown, body?: Buffer): Generator<Buffer> {
  const json = JSON.stringify(value) ?? "null";
  // Cheap test first: a UTF-8 byte is at least one UTF-16 unit and at most three.
  if (json.length * 3 <= MAX_INLINE_RESULT || Buffer.byteLength(json, "utf8") <= MAX_INLINE_RESULT) {
    yield encodeFrameJson(`{"id":${id},"ev":"result","value":${json}}`, body);
    return;
  }
  if (body?.length) yield encodeFrame({ id, ev: "data" }, body);
  const bytes = Buffer.from(json, "utf8");
  const tag = `{"id":${id},"ev":"data","result":true}`;
  for (let at = 0; at < bytes.length; at += MAX_FRAME_BODY) yield encodeFrameJson(tag, bytes.subarray(at, at + MAX_FRAME_BODY));
  yield encodeFrameJson(`{"id":${id},"ev":"result","json":${bytes.length}}`);
}

/** The result sent in parts; throws a plain Error saying what is wrong with them. */
export function parseResultJson(parts: Buffer[], declared: number): unknown {
  const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  if (bytes.length !== declared) throw new Error(`result JSON is ${bytes.length} bytes, declared ${declared}`);
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    throw new Error(`result JSON does not parse: ${(err as Error).message}`, { cause: err });
  }
}
