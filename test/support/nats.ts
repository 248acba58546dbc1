import type { NatsConnection } from "@nats-io/transport-node";
import { openOnConnection, type Backbone } from "../../src/nats/backbone.ts";
import { connectNats } from "../../src/nats/connection.ts";
import { startNatsServer, type NatsServer } from "../../src/nats/server.ts";

export interface TestNats {
  server: NatsServer;
  nc: NatsConnection;
  backbone: Backbone;
  close(): Promise<void>;
}

/**
 * A real `nats-server -js` on a free loopback port with a temporary store, plus a connected
 * Backbone (streams and buckets created). Fails loudly when nats-server is not installed.
 * `close()` drains the connection, stops the server and removes its store.
 */
export async function startTestNats(): Promise<TestNats> {
  const server = await startNatsServer();
  let nc: NatsConnection | undefined;
  try {
    nc = await connectNats({ url: server.url, name: "vibewriter-test" });
    const backbone = await openOnConnection(nc);
    return {
      server,
      nc,
      backbone,
      async close() {
        await backbone.close();
        await server.stop();
      },
    };
  } catch (err) {
    await nc?.close().catch(() => {});
    await server.stop();
    throw err;
  }
}
