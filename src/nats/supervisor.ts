/**
 * Keeps a connection to the embedded nats-server useful: when the connection drops, the server is
 * restarted on the same store and port (clients reconnect to the port they know); when the disk
 * under the store fills, or the server cannot be brought back within `giveUpMs`, the connection is
 * closed (so nothing waits on it) and `lost` rejects with the reason, for the run to end with it.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";

export interface SupervisorOptions {
  nc: NatsConnection;
  /** Bring the server back if it is gone (under the store lock); throws when it cannot. */
  revive(): Promise<void>;
  /** A DiskFull error when the store's disk filled and JetStream stopped answering; else undefined. */
  checkDisk(): Promise<NatsBackboneError | undefined>;
  /** "store <dir>, port <n>", for messages. */
  describe(): string;
  /** Give up after this long without a connection (default 10 s). */
  giveUpMs?: number;
  /** How often the disk is looked at (default 1 s). */
  diskEveryMs?: number;
}

export interface Supervisor {
  /** Rejects once the server is gone for good (never resolves). */
  readonly lost: Promise<never>;
  /** The reason, once lost. */
  readonly failure: NatsBackboneError | undefined;
  /** Stop watching (the connection is being closed on purpose). */
  stop(): void;
}

const DEFAULT_GIVE_UP_MS = 10_000;

export function supervise(opts: SupervisorOptions): Supervisor {
  const giveUpMs = opts.giveUpMs ?? DEFAULT_GIVE_UP_MS;
  let stopped = false;
  let connected = true;
  let recovering = false;
  let failure: NatsBackboneError | undefined;
  let reject!: (e: NatsBackboneError) => void;
  const lost = new Promise<never>((_, r) => (reject = r));
  lost.catch(() => {}); // observed by whoever races it; never an unhandled rejection

  const fail = (err: NatsBackboneError) => {
    if (stopped || failure) return;
    failure = err;
    stopped = true;
    clearInterval(diskTimer);
    reject(err);
    // Pending requests and publishes fail at once instead of waiting for a server that is gone.
    void opts.nc.close().catch(() => {});
  };

  const recover = async () => {
    if (recovering) return;
    recovering = true;
    const deadline = Date.now() + giveUpMs;
    let last: unknown;
    try {
      while (!stopped && !connected && !opts.nc.isClosed() && !opts.nc.isDraining()) {
        try {
          await opts.revive();
        } catch (err) {
          last = err;
        }
        if (connected || stopped) return;
        if (Date.now() > deadline) {
          const disk = await opts.checkDisk().catch(() => undefined);
          fail(
            disk ??
              new NatsBackboneError(
                NatsErrorCode.ServerLost,
                `the embedded nats-server (${opts.describe()}) stopped and could not be restarted within ${giveUpMs / 1000} s` +
                  (last ? `: ${(last as Error).message ?? last}` : " (it runs but does not answer)") +
                  ". Everything acknowledged before is in the store; once the cause is fixed, `vibewriter resume <thread>` continues.",
                { cause: last },
              ),
          );
          return;
        }
        // The client retries every 250 ms; look again at that pace (a supervision loop, not a test wait).
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      recovering = false;
    }
  };

  void (async () => {
    for await (const s of opts.nc.status()) {
      if (stopped) break;
      // Closing or draining on purpose also disconnects: not a server to bring back.
      if (opts.nc.isClosed() || opts.nc.isDraining()) break;
      if (s.type === "disconnect") {
        connected = false;
        void recover();
      } else if (s.type === "reconnect") {
        connected = true;
      }
    }
  })().catch(() => {});

  let checking = false;
  const diskTimer = setInterval(() => {
    if (stopped || !connected || checking) return;
    checking = true;
    void opts
      .checkDisk()
      .then((err) => err && fail(err), () => {})
      .finally(() => (checking = false));
  }, opts.diskEveryMs ?? 1_000);
  diskTimer.unref(); // never what keeps a process alive

  return {
    lost,
    get failure() {
      return failure;
    },
    stop() {
      stopped = true;
      clearInterval(diskTimer);
    },
  };
}
