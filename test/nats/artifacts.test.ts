import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Objm } from "@nats-io/obj";
import { NatsBackboneError, NatsErrorCode } from "../../src/nats/errors.ts";
import { Names, objectChunkSubjectPrefix, objectStoreStreamName } from "../../src/nats/streams.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";

const SIXTY_MB = 60 * 1000 * 1000;
/** ArtifactStore's default chunk size. */
const CHUNK = 512 * 1024;

describe("ArtifactStore", () => {
  let t: TestNats;
  beforeAll(async () => {
    t = await startTestNats();
  });
  afterAll(async () => {
    await t.close();
  });

  it("stores and reads back an empty artifact", async () => {
    const a = t.backbone.artifacts;
    const info = await a.put("threads/t1/workspace/empty.txt", new Uint8Array(0));
    expect(info.size).toBe(0);
    expect((await a.getBytes("threads/t1/workspace/empty.txt")).length).toBe(0);
    expect((await a.info("threads/t1/workspace/empty.txt"))?.size).toBe(0);
  });

  it("streams a 60 MB artifact in and out intact", async () => {
    const a = t.backbone.artifacts;
    const block = randomBytes(1024 * 1024);
    const hashIn = createHash("sha256");
    async function* source() {
      let sent = 0;
      for (let i = 0; sent < SIXTY_MB; i++) {
        const n = Math.min(block.length, SIXTY_MB - sent);
        const piece = Buffer.from(block.subarray(0, n));
        piece[0] = i & 0xff; // every megabyte differs
        hashIn.update(piece);
        sent += n;
        yield piece;
      }
    }
    const info = await a.put("sources/big dataset (v2).bin", source(), { description: "60 MB test" });
    expect(info.size).toBe(SIXTY_MB);
    expect(info.chunks).toBe(Math.ceil(SIXTY_MB / CHUNK));
    const hashOut = createHash("sha256");
    let size = 0;
    for await (const chunk of a.read("sources/big dataset (v2).bin")) {
      hashOut.update(chunk);
      size += chunk.length;
    }
    expect(size).toBe(SIXTY_MB);
    expect(hashOut.digest("hex")).toBe(hashIn.digest("hex"));
  });

  it("handles names with slashes and any characters; lists by prefix; deletes", async () => {
    const a = t.backbone.artifacts;
    const names = ["threads/ü 1/workspace/notes.md", "threads/ü 1/workspace/a.b/c*>.txt", "threads/other/x"];
    for (const n of names) await a.put(n, `content of ${n}`);
    expect((await a.list("threads/ü 1/")).map((i) => i.name)).toEqual([names[1], names[0]]);
    expect(new TextDecoder().decode(await a.getBytes(names[1]))).toBe(`content of ${names[1]}`);
    await a.delete(names[1]);
    expect(await a.info(names[1])).toBeNull();
    expect((await a.list("threads/ü 1/")).map((i) => i.name)).toEqual([names[0]]);
  });

  it("gives clear errors for a missing artifact and bad names", async () => {
    const a = t.backbone.artifacts;
    const missing = await a.get("threads/none/nothing.txt").catch((e: unknown) => e);
    expect(NatsBackboneError.isInstance(missing, NatsErrorCode.NotFound)).toBe(true);
    expect((missing as Error).message).toContain("threads/none/nothing.txt");
    const del = await a.delete("threads/none/nothing.txt").catch((e: unknown) => e);
    expect(NatsBackboneError.isInstance(del, NatsErrorCode.NotFound)).toBe(true);
    for (const bad of ["", "a\u0000b", "x".repeat(2000), "half \ud800 pair", "parrot 🦜", "漢字.md"]) {
      const err = await a.put(bad, "data").catch((e: unknown) => e);
      expect(NatsBackboneError.isInstance(err, NatsErrorCode.InvalidName)).toBe(true);
    }
    const badContent = await a.put("ok", 42 as never).catch((e: unknown) => e);
    expect(NatsBackboneError.isInstance(badContent, NatsErrorCode.InvalidArgument)).toBe(true);
  });

  it("writes the Object Store's own layout: the client library reads it, and it reads the library's; a replaced object's chunks go", async () => {
    const a = t.backbone.artifacts;
    const os = await new Objm(t.backbone.js).open(Names.filesBucket);
    const three = randomBytes(3 * 1024 * 1024 + 5);
    const ours = await a.put("compat/ours ü.bin", three, { description: "ours" });
    expect(ours).toMatchObject({ size: three.length, chunks: 7, description: "ours" });
    const viaLibrary = await os.getBlob("compat/ours ü.bin");
    expect(Buffer.compare(Buffer.from(viaLibrary!), three)).toBe(0);
    expect((await os.info("compat/ours ü.bin"))?.digest).toBe(ours.digest);

    await os.putBlob({ name: "compat/theirs ü.bin", options: { max_chunk_size: 128 * 1024 } }, three);
    expect(Buffer.compare(Buffer.from(await a.getBytes("compat/theirs ü.bin")), three)).toBe(0);

    // Replacing: the new content is read, and only its chunks are left in the stream.
    const chunkSubjects = () =>
      t.backbone.jsm.streams
        .info(objectStoreStreamName(Names.filesBucket), { subjects_filter: `${objectChunkSubjectPrefix(Names.filesBucket)}>` })
        .then((i) => Object.keys(i.state.subjects ?? {}).length);
    const before = await chunkSubjects();
    await a.put("compat/ours ü.bin", "small now");
    expect(new TextDecoder().decode(await a.getBytes("compat/ours ü.bin"))).toBe("small now");
    expect(await chunkSubjects()).toBe(before);
  });

  it("a put told its name is new skips the lookup; were it not new, the replaced chunks are left for sweep()", async () => {
    const a = t.backbone.artifacts;
    const chunkSubjects = () =>
      t.backbone.jsm.streams
        .info(objectStoreStreamName(Names.filesBucket), { subjects_filter: `${objectChunkSubjectPrefix(Names.filesBucket)}>` })
        .then((i) => Object.keys(i.state.subjects ?? {}).length);
    await a.put("fresh/new.txt", "first", { isNew: true });
    expect(new TextDecoder().decode(await a.getBytes("fresh/new.txt"))).toBe("first");
    const before = await chunkSubjects();
    await a.put("fresh/new.txt", "second", { isNew: true }); // wrongly new: the old chunk stays
    expect(new TextDecoder().decode(await a.getBytes("fresh/new.txt"))).toBe("second");
    expect(await chunkSubjects()).toBe(before + 1);
    expect((await a.sweep({ olderThanMs: 0 })).orphans).toBeGreaterThanOrEqual(1);
    expect(await chunkSubjects()).toBe(before);
    expect(new TextDecoder().decode(await a.getBytes("fresh/new.txt"))).toBe("second");
  });

  it("reports an object that lost a chunk as damaged, never as a short read", async () => {
    const a = t.backbone.artifacts;
    const os = await new Objm(t.backbone.js).open(Names.filesBucket);
    // Three chunks are read with direct gets, six with a consumer: both notice.
    for (const [name, chunks] of [["damaged/small.bin", 3], ["damaged/large.bin", 6]] as const) {
      const info = await a.put(name, randomBytes((chunks - 1) * CHUNK + 1));
      expect(info.chunks).toBe(chunks);
      expect((await a.getBytes(name)).length).toBe(info.size);
      const last = await t.backbone.jsm.direct.getMessage(objectStoreStreamName(Names.filesBucket), {
        last_by_subj: objectChunkSubjectPrefix(Names.filesBucket) + (await os.info(name))!.nuid,
      });
      await t.backbone.jsm.streams.deleteMessage(objectStoreStreamName(Names.filesBucket), last!.seq);
      const err = await a.getBytes(name).catch((e: unknown) => e);
      expect(NatsBackboneError.isInstance(err, NatsErrorCode.Corrupt)).toBe(true);
      expect((err as Error).message).toContain(name);
    }
  });

  it("sweeps the chunks of a put killed midway, leaving complete artifacts alone", async () => {
    const a = t.backbone.artifacts;
    await a.put("keep/me.txt", "still here");
    const chunkSubjects = `${objectChunkSubjectPrefix(Names.filesBucket)}>`;
    // Count chunks as they land (event-driven, no polling).
    const sub = t.nc.subscribe(chunkSubjects);
    const script = fileURLToPath(new URL("./fixtures/interrupted-put.mjs", import.meta.url));
    const child = spawn(process.execPath, [script, t.server.url, Names.filesBucket, "threads/t/killed.bin"], {
      stdio: ["ignore", "ignore", "inherit"],
      cwd: process.cwd(),
    });
    const exited = new Promise((r) => child.once("exit", r));
    let seen = 0;
    for await (const _m of sub) {
      if (++seen >= 3) break;
    }
    child.kill("SIGKILL");
    await exited;
    await t.nc.flush();

    expect(await a.info("threads/t/killed.bin")).toBeNull();
    const before = await t.backbone.jsm.streams.info(objectStoreStreamName(Names.filesBucket), { subjects_filter: chunkSubjects });
    const chunkSubjectsBefore = Object.keys(before.state.subjects ?? {});
    expect(chunkSubjectsBefore.length).toBeGreaterThanOrEqual(2); // the kept file's chunks + the orphan's

    // Within the grace period nothing is touched (a put might still be running).
    expect(await a.sweep()).toEqual({ orphans: 0, chunks: 0 });
    const swept = await a.sweep({ olderThanMs: 0 });
    expect(swept.orphans).toBe(1);
    expect(swept.chunks).toBeGreaterThanOrEqual(3);
    const after = await t.backbone.jsm.streams.info(objectStoreStreamName(Names.filesBucket), { subjects_filter: chunkSubjects });
    expect(Object.keys(after.state.subjects ?? {}).length).toBe(chunkSubjectsBefore.length - 1);
    expect(new TextDecoder().decode(await a.getBytes("keep/me.txt"))).toBe("still here");
  });
});
