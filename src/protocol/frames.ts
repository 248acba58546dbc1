/**
 * The frame headers of the guest protocol, both directions. A frame is a JSON header plus an
 * optional raw body (see framing.ts); file contents and command output always travel in bodies.
 *
 * Every request carries a numeric `id` chosen by the host; every frame the guest sends about it
 * carries the same `id`, so many requests run concurrently over one channel. Id 0 belongs to the
 * VMM driver's readiness handshake (`hello` as id 0, see src/sandbox/vmm/handshake.ts); clients
 * use ids ≥ 1 and ignore id-0 frames. Hosts start their ids at a random base per connection so
 * frames left over from an earlier connection never match a live request.
 *
 * A request's life:
 *   host → guest  { id, op, args, more? }          (+ body: `write` contents, `upload` parts, stdin)
 *   host → guest  { id, op, argsBytes: n, more? }  (big arguments: the body's first n bytes are their JSON)
 *   host → guest  { id, op: "chunk", more }        (further body parts while `more` was true)
 *   guest → host  { id, ev: "start", pid }         (exec only)
 *   guest → host  { id, ev: "data", stream?, part? } + body   (zero or more; bulk bytes)
 *   guest → host  { id, ev: "data", part, sizes } + body      (files part, part+1, … whole, back to back)
 *   guest → host  { id, ev: "data", result: true } + body     (a big result's JSON, in parts)
 *   guest → host  { id, ev: "result", value }      (exactly one of result/error ends it; its body,
 *                                                   if any, is the last untagged `data` part)
 *   guest → host  { id, ev: "result", json: n }    (the result is the n bytes of JSON sent above)
 *   guest → host  { id, ev: "error", code, message }
 * Any body bigger than MAX_FRAME_BODY is split over several frames; a result whose JSON is bigger
 * than MAX_INLINE_RESULT travels as `result: true` data frames, and arguments that big travel in
 * the request's body. Nothing is ever too big to send:
 * the host caps what it collects per request instead.
 */
import { ERROR_CODES } from "./error-codes.ts";
import { MAX_ERROR_MESSAGE, MAX_FILES_PER_FRAME } from "./limits.ts";
import { array, bool, int, object, oneOf, optional, string, tagged, unknown, type Infer } from "./schema.ts";

const id = int();

/** guest → host, checked by the host (the guest runs the model's commands: it is untrusted). */
export const eventHeader = tagged("ev", {
  start: object({ id, ev: oneOf(["start"]), pid: int() }),
  data: object({
    id,
    ev: oneOf(["data"]),
    /** exec output. */
    stream: optional(oneOf(["stdout", "stderr"])),
    /** download: index of the file in `paths`. */
    part: optional(int()),
    /**
     * download: the body is several whole files back to back, `part` and the ones after it, of
     * these sizes (many small files in one frame: each frame costs the agent ~0.2 ms under TCG).
     */
    sizes: optional(array(int(), { max: MAX_FILES_PER_FRAME })),
    /** A part of the result's JSON (see `result.json`). */
    result: optional(oneOf([true])),
  }),
  result: object({
    id,
    ev: oneOf(["result"]),
    /** The result, when it fits in the header. */
    value: optional(unknown()),
    /** Otherwise: the byte length of the result JSON sent in `result: true` data frames. */
    json: optional(int()),
  }),
  error: object({ id, ev: oneOf(["error"]), code: oneOf(ERROR_CODES), message: string({ max: MAX_ERROR_MESSAGE }) }),
  /** Unsolicited: the agent is up (sent on connect, id 0). */
  ready: object({ id, ev: oneOf(["ready"]), protocolVersion: int(), agentVersion: string({ max: 100 }) }),
});
export type EventHeader = Infer<typeof eventHeader>;

/** host → guest. `op` is checked against OP_SCHEMAS and `args` against the op's schema separately. */
export const requestHeader = object({
  id,
  op: string({ max: 100 }),
  args: optional(unknown()),
  /** Instead of `args`: the arguments are the first `argsBytes` bytes of the body, as JSON. */
  argsBytes: optional(int()),
  /** More body parts follow as `chunk` frames. */
  more: optional(bool()),
});
export type RequestHeader = Infer<typeof requestHeader>;
