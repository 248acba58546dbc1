/**
 * Reads that survive a dead server on a cluster. Every one-shot read (ordered consumers: the
 * checkpointer's and the ledger's stream reads, Object Store gets, KV key listings) creates an
 * ephemeral R1 consumer. nats-server up to 2.11 places it on a random server of the stream's peers,
 * a dead one included, until it notices (nats-server#7165, fixed in 2.12; 2.9.10 here kept placing
 * on a SIGKILLed server 80 s later): the create then waits for an answer that never comes. So on a
 * cluster such a create gets a short timeout; when it passes, the create is asked again under
 * another name, which places it anew (the client takes the consumer's name from the answer), and
 * the stranded one is deleted.
 */
import { errors, type NatsConnection } from "@nats-io/transport-node";

/** `$JS.API.CONSUMER.CREATE.<stream>.<consumer>[.<filter>]` */
const CONSUMER_CREATE = /^\$JS\.API\.CONSUMER\.CREATE\.([^.]+)\.([^.]+)(\..+)?$/;
/** Creating an R1 consumer takes milliseconds on a live server; past this, it went to a dead one. */
const PLACED_ON_DEAD_MS = 2_000;
const ATTEMPTS = 6;

export function replaceDeadEphemeralConsumers(nc: NatsConnection): NatsConnection {
  const request = nc.request.bind(nc);
  nc.request = async (subject, payload, opts) => {
    const m = CONSUMER_CREATE.exec(subject);
    if (!m || !nc.info?.cluster || !isEphemeral(payload)) return request(subject, payload, opts);
    const [, stream, name, filter = ""] = m;
    const timeout = opts?.timeout ?? 10_000;
    let body = JSON.parse(decode(payload)!) as { config: { name?: string } };
    let current = name!;
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= ATTEMPTS;
      try {
        return await request(`$JS.API.CONSUMER.CREATE.${stream}.${current}${filter}`, JSON.stringify(body), { ...opts, timeout: last ? timeout : Math.min(timeout, PLACED_ON_DEAD_MS) });
      } catch (err) {
        if (last || !(err instanceof errors.TimeoutError) || nc.isClosed()) throw err;
        void request(`$JS.API.CONSUMER.DELETE.${stream}.${current}`, undefined, { timeout: PLACED_ON_DEAD_MS }).catch(() => {});
        current = `${name}_r${attempt}`;
        body = { ...body, config: { ...body.config, name: current } };
      }
    }
  };
  return nc;
}

/** A create request for a consumer without a durable name (its config in the JSON payload). */
function isEphemeral(payload: unknown): boolean {
  try {
    const body = JSON.parse(decode(payload) ?? "") as { config?: { durable_name?: string; name?: string } };
    return body.config !== undefined && !body.config.durable_name && typeof body.config.name === "string";
  } catch {
    return false;
  }
}

function decode(payload: unknown): string | undefined {
  return typeof payload === "string" ? payload : payload instanceof Uint8Array ? new TextDecoder().decode(payload) : undefined;
}
