import { JsonPlusSerializer } from "@langchain/langgraph-checkpoint";

/**
 * LangGraph's JSON serializer (same bytes, same `json` type, reads anything it wrote) that
 * remembers the encoding of each LangChain message object. A conversation grows by a message or
 * two per step while the whole history is written with every checkpoint; encoding a message
 * (`toJSON` of a Serializable) is the expensive part, so each one is encoded once.
 *
 * Messages are treated as immutable once written — the convention LangGraph's `messages` reducer
 * follows (it replaces a message by id instead of editing it). As a guard against in-place edits,
 * the remembered encoding is reused only while a fingerprint of the message (content size, id,
 * tool calls) is unchanged. Pass a plain `JsonPlusSerializer` as `serde` to turn this off.
 */
export class MessageMemoSerializer extends JsonPlusSerializer {
  readonly #memo = new WeakMap<object, { fp: string; bytes: Uint8Array }>();

  override async dumpsTyped(obj: unknown): Promise<[string, Uint8Array]> {
    if (!Array.isArray(obj) || obj.length < 4 || !obj.every(isMessage)) return super.dumpsTyped(obj);
    // `[a,b,…]` from the elements' encodings: the replacer ignores keys, so this is byte-identical
    // to encoding the array at once.
    const parts: Uint8Array[] = [OPEN];
    obj.forEach((m, i) => {
      if (i > 0) parts.push(COMMA);
      parts.push(this.#encodeMessage(m as MessageLike));
    });
    parts.push(CLOSE);
    return ["json", Buffer.concat(parts)];
  }

  #encodeMessage(m: MessageLike): Uint8Array {
    const fp = fingerprint(m);
    const hit = this.#memo.get(m);
    if (hit && hit.fp === fp) return hit.bytes;
    const bytes = this._dumps(m);
    this.#memo.set(m, { fp, bytes });
    return bytes;
  }
}

const OPEN = new Uint8Array([0x5b]);
const COMMA = new Uint8Array([0x2c]);
const CLOSE = new Uint8Array([0x5d]);

interface MessageLike {
  lc_namespace: string[];
  content: unknown;
  id?: string;
  tool_calls?: unknown[];
  additional_kwargs?: Record<string, unknown>;
  response_metadata?: Record<string, unknown>;
}

function isMessage(x: unknown): boolean {
  if (typeof x !== "object" || x === null) return false;
  const ns = (x as { lc_namespace?: unknown }).lc_namespace;
  return Array.isArray(ns) && ns[ns.length - 1] === "messages" && typeof (x as { toJSON?: unknown }).toJSON === "function";
}

function fingerprint(m: MessageLike): string {
  const c = m.content;
  const size = typeof c === "string" ? c.length : JSON.stringify(c ?? null).length;
  return `${size}|${typeof c === "string" ? c.slice(-24) : ""}|${m.id ?? ""}|${m.tool_calls?.length ?? 0}|${
    Object.keys(m.additional_kwargs ?? {}).length
  }|${Object.keys(m.response_metadata ?? {}).length}`;
}
