import { readFile } from "node:fs/promises";
import {
  connect,
  credsAuthenticator,
  errors,
  nkeyAuthenticator,
  RequestError,
  type ConnectionOptions,
  type NatsConnection,
} from "@nats-io/transport-node";
import { replaceDeadEphemeralConsumers } from "./ephemeral-consumers.ts";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";

export interface ConnectNatsOptions {
  /** One URL or a comma-separated list (a cluster). */
  url: string;
  /** Connection name shown in server monitoring. */
  name?: string;
  user?: string;
  pass?: string;
  token?: string;
  /** A `.creds` file (JWT + nkey seed). */
  credsFile?: string;
  /** An nkey user seed (the embedded server's identities): signs the server's nonce. */
  nkeySeed?: Uint8Array;
  /** How long the first connection's handshake may take (default: the client's 20 s). */
  timeoutMs?: number;
}

/**
 * Connect for the life of the process: reconnect forever (the client's default gives up after
 * ~20 s, which would strand a long run when the server restarts). Credentials never appear in
 * error messages.
 */
export async function connectNats(opts: ConnectNatsOptions): Promise<NatsConnection> {
  if (!opts.url || typeof opts.url !== "string") {
    throw new NatsBackboneError(NatsErrorCode.InvalidArgument, "connectNats: a NATS url is required");
  }
  const servers = opts.url.split(",").map((s) => s.trim()).filter(Boolean);
  const options: ConnectionOptions = {
    servers,
    name: opts.name ?? "vibewriter",
    ...(opts.timeoutMs ? { timeout: opts.timeoutMs } : {}),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: false,
    // Capturing a stack trace per request costs more than a loopback round trip.
    noAsyncTraces: true,
  };
  if (opts.nkeySeed) {
    options.authenticator = nonceCheckedAuthenticator(opts.nkeySeed);
  } else if (opts.credsFile) {
    let creds: Uint8Array;
    try {
      creds = await readFile(opts.credsFile);
    } catch (cause) {
      throw new NatsBackboneError(
        NatsErrorCode.InvalidArgument,
        `cannot read NATS credentials file ${opts.credsFile}`,
        { cause },
      );
    }
    options.authenticator = credsAuthenticator(creds);
  } else if (opts.token) {
    options.token = opts.token;
  } else if (opts.user) {
    options.user = opts.user;
    options.pass = opts.pass ?? "";
  }
  try {
    return replaceDeadEphemeralConsumers(retryReadsAcrossReconnects(await connect(options)));
  } catch (cause) {
    // The cause is the client's own error (no secrets in it); the URL is printed without userinfo.
    throw new NatsBackboneError(
      NatsErrorCode.Connect,
      `cannot connect to NATS at ${servers.map(redactUrl).join(", ")}: ${(cause as Error)?.message ?? cause}`,
      { cause },
    );
  }
}

/** What nats-server sends as a nonce: a short random base64url string (15 characters in 2.9–2.10). */
const SERVER_NONCE = /^[A-Za-z0-9_-]{8,64}$/;

/**
 * nkey auth that signs only what looks like a server's nonce. The runtime's seed also signs ledger
 * entries (`vibewriter-ledger-v1\n<hash>`): a server (a cluster's, reached through NATS_URL) that
 * sent such bytes as its nonce would otherwise get a valid ledger signature back.
 */
function nonceCheckedAuthenticator(seed: Uint8Array): ReturnType<typeof nkeyAuthenticator> {
  const sign = nkeyAuthenticator(seed);
  return (nonce?: string) => {
    if (nonce && !SERVER_NONCE.test(nonce)) {
      throw new NatsBackboneError(NatsErrorCode.Connect, "the NATS server sent a nonce that is not one (refused to sign it with this identity)");
    }
    return sign(nonce);
  };
}

/** Connection options from the environment: NATS_URL, NATS_CREDS, NATS_USER/NATS_PASSWORD, NATS_TOKEN. */
export function natsOptionsFromEnv(env: NodeJS.ProcessEnv): ConnectNatsOptions | undefined {
  const url = env.NATS_URL?.trim();
  if (!url) return undefined;
  return {
    url,
    credsFile: env.NATS_CREDS || undefined,
    user: env.NATS_USER || undefined,
    pass: env.NATS_PASSWORD || undefined,
    token: env.NATS_TOKEN || undefined,
  };
}

/** Strip `user:pass@` from a URL so it can be logged. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@");
}

/** JetStream API requests that only read: asking again cannot change anything. */
const READ_ONLY_API = /^\$JS\.API\.(INFO$|DIRECT\.GET\.|STREAM\.(INFO|MSG\.GET)\.|STREAM\.(NAMES|LIST)$|CONSUMER\.(INFO|NAMES|LIST)\.)/;
const READ_RETRIES = 5;

/**
 * A request already sent when the server died is never answered: it times out, although the
 * client reconnects (to a restarted server) within a second. Read-only JetStream requests that
 * met a reconnect, or "no responders" while JetStream comes back, are asked again; writes are
 * not (publishAcked retries those with their message id, so nothing is stored twice).
 */
function retryReadsAcrossReconnects(nc: NatsConnection): NatsConnection {
  let reconnects = 0;
  void (async () => {
    for await (const s of nc.status()) if (s.type === "disconnect" || s.type === "reconnect") reconnects += 1;
  })().catch(() => {});
  const request = nc.request.bind(nc);
  nc.request = async (subject, payload, opts) => {
    for (let attempt = 1; ; attempt++) {
      const seen = reconnects;
      try {
        return await request(subject, payload, opts);
      } catch (err) {
        const lost = err instanceof errors.TimeoutError && reconnects !== seen;
        const restarting = err instanceof RequestError && err.isNoResponders();
        if (attempt >= READ_RETRIES || nc.isClosed() || !(lost || restarting) || !READ_ONLY_API.test(subject)) throw err;
        // Let the client reconnect (it retries every 250 ms) before asking again.
        await new Promise((r) => setTimeout(r, 250 * attempt));
      }
    }
  };
  return nc;
}
