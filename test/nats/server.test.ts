import { connectNats } from "../../src/nats/connection.ts";
import { NatsBackboneError, NatsErrorCode } from "../../src/nats/errors.ts";
import { defaultNatsServerBinary, startNatsServer } from "../../src/nats/server.ts";
import { startTestNats } from "../support/nats.ts";
import { existsSync } from "node:fs";
import { kvStreamName, Names, objectStoreStreamName } from "../../src/nats/streams.ts";

describe("nats-server launcher", () => {
  it("starts on a free port, restarts on the same port and store, and stops", async () => {
    const server = await startNatsServer();
    try {
      expect(server.port).toBeGreaterThan(0);
      expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
      const firstPid = server.pid;
      const nc = await connectNats({ url: server.url });
      await nc.flush();
      const reconnected = (async () => {
        for await (const s of nc.status()) if (s.type === "reconnect") return true;
        return false;
      })();
      await server.kill();
      await server.restart();
      expect(server.pid).not.toBe(firstPid);
      // The same client reconnects to the same port.
      expect(await reconnected).toBe(true);
      await nc.flush();
      expect(nc.isClosed()).toBe(false);
      await nc.close();
    } finally {
      await server.stop();
    }
    expect(existsSync(server.storeDir)).toBe(false);
  });

  it("fails with an install hint when the binary is missing", async () => {
    const err = await startNatsServer({ binary: "/nonexistent/nats-server" }).catch((e: unknown) => e);
    expect(NatsBackboneError.isInstance(err, NatsErrorCode.ServerMissing)).toBe(true);
    expect((err as Error).message).toContain("apt-get install nats-server");
  });

  it("finds Debian's /usr/sbin/nats-server when an ordinary user's PATH lacks sbin", async () => {
    if (!existsSync("/usr/sbin/nats-server")) throw new Error("this test needs Debian's nats-server package (/usr/sbin/nats-server): run scripts/setup.sh");
    const saved = { PATH: process.env.PATH, NATS_SERVER_BIN: process.env.NATS_SERVER_BIN };
    try {
      process.env.PATH = "/usr/local/bin:/usr/bin:/bin"; // Debian's PATH for an ordinary user
      delete process.env.NATS_SERVER_BIN;
      expect(defaultNatsServerBinary()).toBe("/usr/sbin/nats-server");
      process.env.NATS_SERVER_BIN = "/opt/custom/nats-server";
      expect(defaultNatsServerBinary()).toBe("/opt/custom/nats-server");
    } finally {
      process.env.PATH = saved.PATH;
      if (saved.NATS_SERVER_BIN === undefined) delete process.env.NATS_SERVER_BIN;
      else process.env.NATS_SERVER_BIN = saved.NATS_SERVER_BIN;
    }
  });

  it("the test kit opens a backbone with the streams and buckets", async () => {
    const t = await startTestNats();
    try {
      const names: string[] = [];
      for await (const s of t.backbone.jsm.streams.list()) names.push(s.config.name);
      expect(names.sort()).toEqual(
        [kvStreamName(Names.memoryBucket), objectStoreStreamName(Names.filesBucket), Names.eventsStream, Names.stateStream].sort(),
      );
      const state = await t.backbone.jsm.streams.info(Names.stateStream);
      expect(state.config.max_age).toBe(0);
      expect(state.config.storage).toBe("file");
    } finally {
      await t.close();
    }
  });
});
