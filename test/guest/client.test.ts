/**
 * GuestClient against a hostile guest: a socket peer that answers the handshake properly and then
 * sends what a compromised agent might. The client must reject, never pass it on.
 */
import { createServer, connect, type Server, type Socket } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeFrame, FrameDecoder, PROTOCOL_VERSION } from "../../src/protocol/index.ts";
import { GuestClient } from "../../src/sandbox/guest-client.ts";
import { GuestError } from "../../src/sandbox/guest-error.ts";

const HELLO = { protocolVersion: PROTOCOL_VERSION, agentVersion: "evil", roots: [], pid: 1, clockSet: false };

type Reply = (req: { id: number; op: string; args: unknown }, sock: Socket) => void;

async function hostileGuest(reply: Reply): Promise<{ client: GuestClient; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "vw-hostile-"));
  const path = join(dir, "s");
  const server: Server = createServer((sock) => {
    sock.on("error", () => {}); // the client hangs up mid-write in these tests
    const dec = new FrameDecoder();
    sock.on("data", (chunk) => {
      for (const f of dec.push(chunk)) {
        const h = f.header as { id: number; op: string; args: unknown };
        if (h.op === "hello") {
          sock.write(encodeFrame({ id: h.id, ev: "result", value: HELLO }));
        } else reply(h, sock);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const s = connect(path);
  await new Promise((resolve) => s.once("connect", resolve));
  const client = await GuestClient.connect(s);
  return {
    client,
    async close() {
      client.close();
      await new Promise((resolve) => server.close(resolve));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const codeOf = (p: Promise<unknown>) => p.then(() => "resolved", (e) => (GuestError.isInstance(e) ? e.code : `other: ${e}`));

it("rejects a result that does not match its op's schema", async () => {
  const g = await hostileGuest((req, sock) => sock.write(encodeFrame({ id: req.id, ev: "result", value: { path: "/etc/passwd", type: "file", size: -1, mtimeMs: 0 } })));
  try {
    expect(await codeOf(g.client.request("stat", { path: "/workspace" }))).toBe("protocol");
  } finally {
    await g.close();
  }
});

it("closes the channel on a malformed frame and rejects everything pending with `protocol`", async () => {
  const g = await hostileGuest((req, sock) => sock.write(encodeFrame({ id: req.id, ev: "explode" })));
  try {
    expect(await codeOf(g.client.request("stat", { path: "/workspace" }))).toBe("protocol");
    expect(await codeOf(g.client.request("stat", { path: "/workspace" }))).toBe("protocol");
    expect((await g.client.closed).code).toBe("protocol");
  } finally {
    await g.close();
  }
});

it("ignores frames for ids it never issued (stale frames from an earlier connection)", async () => {
  const g = await hostileGuest((req, sock) => {
    sock.write(encodeFrame({ id: req.id + 1000, ev: "result", value: { nonsense: true } }));
    sock.write(encodeFrame({ id: req.id, ev: "result", value: { path: "/workspace", type: "dir", size: 0, mtimeMs: 1 } }));
  });
  try {
    expect((await g.client.request("stat", { path: "/workspace" })).value.type).toBe("dir");
  } finally {
    await g.close();
  }
});

it("caps what one response may make the host buffer", async () => {
  const dir = await mkdtemp(join(tmpdir(), "vw-hostile-"));
  const path = join(dir, "s");
  const server = createServer((sock) => {
    sock.on("error", () => {}); // the client hangs up mid-write in these tests
    const dec = new FrameDecoder();
    sock.on("data", (chunk) => {
      for (const f of dec.push(chunk)) {
        const h = f.header as { id: number; op: string };
        if (h.op === "hello") sock.write(encodeFrame({ id: h.id, ev: "result", value: HELLO }));
        else if (h.op === "read") for (let i = 0; i < 5; i++) sock.write(encodeFrame({ id: h.id, ev: "data" }, Buffer.alloc(1024 * 1024)));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const s = connect(path);
  await new Promise((resolve) => s.once("connect", resolve));
  const client = await GuestClient.connect(s, { maxResponseBytes: 2 * 1024 * 1024 });
  try {
    expect(await codeOf(client.request("read", { path: "/workspace/x" }))).toBe("too_large");
  } finally {
    client.close();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  }
});

it("caps a command's output on the host even when the guest ignores the cap", async () => {
  const flood = Buffer.alloc(64 * 1024, 0x41);
  const g = await hostileGuest((req, sock) => {
    if (req.op !== "exec") return;
    for (let i = 0; i < 32; i++) sock.write(encodeFrame({ id: req.id, ev: "data", stream: "stdout" }, flood)); // 2 MiB
    sock.write(encodeFrame({ id: req.id, ev: "result", value: { exitCode: 0, signal: null, timedOut: false, truncated: false } }));
  });
  try {
    const seen: number[] = [];
    const r = await g.client.exec({ shell: "yes", maxOutputBytes: 100_000 }, { onOutput: (b) => void seen.push(b.length) });
    expect(r.output.length).toBe(100_000);
    expect(r.truncated).toBe(true);
    expect(seen.reduce((a, b) => a + b, 0)).toBe(100_000);
    expect(await Promise.race([g.client.closed.then(() => "closed"), Promise.resolve("open")])).toBe("open"); // still usable
  } finally {
    await g.close();
  }
});

describe("results of any size", () => {
  /** A guest answering `ls` with `json` bytes in result-tagged parts, then `result: { json: declared }`. */
  const partsGuest = (json: Buffer, declared = json.length, partSize = 1024 * 1024) =>
    hostileGuest((req, sock) => {
      for (let at = 0; at < json.length; at += partSize) sock.write(encodeFrame({ id: req.id, ev: "data", result: true }, json.subarray(at, at + partSize)));
      sock.write(encodeFrame({ id: req.id, ev: "result", json: declared }));
    });

  it("reassembles a result sent as data frames and checks it like any other", async () => {
    const entries = Array.from({ length: 5000 }, (_, i) => ({ path: `/workspace/f${i}`, type: "file", size: i, mtimeMs: 1 }));
    const g = await partsGuest(Buffer.from(JSON.stringify({ entries, truncated: false })), undefined, 100_000);
    try {
      const r = await g.client.request("ls", { path: "/workspace" });
      expect(r.value.entries).toHaveLength(5000);
      expect(r.value.entries[4999]).toEqual(entries[4999]);
    } finally {
      await g.close();
    }
  });

  it("refuses parts that do not add up, or JSON that breaks the op's schema, and keeps the channel", async () => {
    const good = Buffer.from(JSON.stringify({ entries: [], truncated: false }));
    for (const [json, declared, why] of [
      [good, good.length + 1, "declared"],
      [Buffer.from("{not json"), 9, "does not parse"],
      [Buffer.from(JSON.stringify({ entries: [{ path: "/x", type: "file", size: -1, mtimeMs: 0 }], truncated: false })), undefined, "result.entries[0].size"],
    ] as const) {
      const g = await partsGuest(json, declared);
      try {
        await expect(g.client.request("ls", { path: "/workspace" })).rejects.toMatchObject({ code: "protocol", message: expect.stringContaining(why) });
        expect(g.client.isClosed).toBe(false);
      } finally {
        await g.close();
      }
    }
  });

  it("counts result JSON against the host's cap: too_large, not unbounded memory", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vw-hostile-"));
    const path = join(dir, "s");
    const server = createServer((sock) => {
      sock.on("error", () => {});
      const dec = new FrameDecoder();
      sock.on("data", (chunk) => {
        for (const f of dec.push(chunk)) {
          const h = f.header as { id: number; op: string };
          if (h.op === "hello") sock.write(encodeFrame({ id: h.id, ev: "result", value: HELLO }));
          else if (h.op === "glob") for (let i = 0; i < 5; i++) sock.write(encodeFrame({ id: h.id, ev: "data", result: true }, Buffer.alloc(1024 * 1024, 0x20)));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    const s = connect(path);
    await new Promise((resolve) => s.once("connect", resolve));
    const client = await GuestClient.connect(s, { maxResponseBytes: 2 * 1024 * 1024 });
    try {
      await expect(client.request("glob", { pattern: "**" })).rejects.toMatchObject({ code: "too_large", message: expect.stringContaining("maxResponseBytes") });
    } finally {
      client.close();
      await new Promise((resolve) => server.close(resolve));
      await rm(dir, { recursive: true, force: true });
    }
  });
});

it("refuses stream events an op never sends (a start for stat, output for read)", async () => {
  const g = await hostileGuest((req, sock) => {
    if (req.op === "stat") sock.write(encodeFrame({ id: req.id, ev: "start", pid: 1 }));
    if (req.op === "read") sock.write(encodeFrame({ id: req.id, ev: "data", stream: "stdout" }, Buffer.from("x")));
  });
  try {
    await expect(g.client.request("stat", { path: "/workspace" })).rejects.toMatchObject({ code: "protocol", message: expect.stringContaining("does not start a process") });
    await expect(g.client.request("read", { path: "/workspace/a" })).rejects.toMatchObject({ code: "protocol", message: expect.stringContaining("does not stream data tagged by stream") });
    expect(g.client.isClosed).toBe(false);
  } finally {
    await g.close();
  }
});

it("splits a frame of several whole files by its sizes, and refuses sizes that do not add up to its body", async () => {
  const g = await hostileGuest((req, sock) => {
    if (req.op !== "download") return;
    const paths = (req.args as { paths: string[] }).paths;
    const lie = paths[0] === "/workspace/lie";
    sock.write(encodeFrame({ id: req.id, ev: "data", part: 0, sizes: lie ? [2, 2] : [2, 0, 3] }, Buffer.from("abcde")));
    sock.write(encodeFrame({ id: req.id, ev: "result", value: { files: paths.map((path, i) => ({ path, size: [2, 0, 3][i]! })) } }));
  });
  try {
    const r = await g.client.request("download", { paths: ["/workspace/a", "/workspace/b", "/workspace/c"] });
    expect(r.data.map((d) => [d.part, d.bytes.toString()])).toEqual([[0, "ab"], [1, ""], [2, "cde"]]);
    await expect(g.client.request("download", { paths: ["/workspace/lie"] })).rejects.toMatchObject({ code: "protocol", message: expect.stringContaining("do not add up") });
    expect(g.client.isClosed).toBe(false);
  } finally {
    await g.close();
  }
});

it("a command's streamed output is capped on the host too (execStream), the end says truncated", async () => {
  const flood = Buffer.alloc(64 * 1024, 0x42);
  const g = await hostileGuest((req, sock) => {
    if (req.op !== "exec") return;
    sock.write(encodeFrame({ id: req.id, ev: "start", pid: 5 }));
    for (let i = 0; i < 16; i++) sock.write(encodeFrame({ id: req.id, ev: "data", stream: "stdout" }, flood)); // 1 MiB
    sock.write(encodeFrame({ id: req.id, ev: "result", value: { exitCode: 0, signal: null, timedOut: false, truncated: false } }));
  });
  try {
    let bytes = 0;
    let end: unknown = null;
    for await (const e of g.client.execStream({ shell: "yes", maxOutputBytes: 100_000 })) {
      if (e.type === "output") bytes += e.bytes.length;
      if (e.type === "end") end = e.result;
    }
    expect(bytes).toBe(100_000);
    expect(end).toMatchObject({ exitCode: 0, truncated: true });
  } finally {
    await g.close();
  }
});
