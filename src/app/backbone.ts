/** The backbone a process opens, with everything the wallet and the Choir keep provisioned by the runtime. */
import { Kvm } from "@nats-io/kv";
import { Choir } from "../choir/index.ts";
import { type Backbone, createWhileSettling, diskFullError, isNoRoom, Names, NatsRole, openBackbone } from "../nats/index.ts";
import { AuditLedger } from "../wallet/index.ts";

export interface AppBackboneOptions {
  env: NodeJS.ProcessEnv;
  /** The connection's name (shown by nats-server). */
  name: string;
  /** runtime: runs, workers and the doctor; owner: payment decisions; viewer: everything that only reads. */
  role: NatsRole;
  /** The owner's unlocked nkey seed (role owner). */
  ownerSeed?: Uint8Array;
}

/** Opens the backbone as `role`; a runtime creates the wallet's and the Choir's streams and buckets. */
export function openAppBackbone(opts: AppBackboneOptions): Promise<Backbone> {
  return openBackbone({ env: opts.env, name: opts.name, role: opts.role, ownerSeed: opts.ownerSeed, provision: provisionLayout });
}

/** Everything the wallet and the Choir keep, created by the runtime so that readers find it. */
export async function provisionLayout(nats: Pick<Backbone, "js" | "jsm"> & { replicas?: number }): Promise<void> {
  const replicas = nats.replicas ?? 1;
  // Several workers starting at once on a cluster create the same buckets: the cluster settles it.
  await createWhileSettling(() => AuditLedger.open(nats, { replicas }));
  await createWhileSettling(() => new Kvm(nats.js).create(Names.paymentsBucket, { history: 10, replicas }));
  await createWhileSettling(() => new Kvm(nats.js).create(Names.mandatesBucket, { history: 5, replicas }));
  await createWhileSettling(() => Choir.open(nats, { replicas }));
}

/**
 * A piece of work, or the reason its backbone went away (the embedded server lost for good, the
 * disk full), whichever comes first: a run never waits on a server that is gone. A failure whose
 * cause is a full disk is told as one, whichever layer it came through.
 */
export function orBackboneLost<T>(work: Promise<T>, backbone: Pick<Backbone, "lost">): Promise<T> {
  const told = work.catch((e: unknown) => Promise.reject(isNoRoom(e) ? diskFullError(e) : e));
  return Promise.race([told, backbone.lost]);
}
