/**
 * Who may do what on the NATS backbone: three identities with least-privilege subject permissions,
 * enforced by nats-server's own authorization (nkey users). The embedded server is started with the
 * config rendered here; `vibewriter nats config` prints the same for an operator's own server.
 *
 * - runtime: the agent (threads, events, artifacts, memory, proposing and signing payments). It can
 *   read mandates but never write one, and cannot delete or purge the ledger, payments or mandates.
 * - owner: decisions (signed mandates in `VIBEWRITER_MANDATES`, their ledger entries, freeing the
 *   spend window on a rejection). Reads everything.
 * - viewer: reads only (dashboard, `threads`, `show`, `events`, `payments`, `ledger verify`).
 */
import { kvStreamName, kvSubjectPrefix, Names, objectStoreStreamName, objectStoreSubjectPrefix } from "./streams.ts";

export const NatsRole = { Runtime: "runtime", Owner: "owner", Viewer: "viewer" } as const;
export type NatsRole = (typeof NatsRole)[keyof typeof NatsRole];
export const NATS_ROLES: readonly NatsRole[] = [NatsRole.Runtime, NatsRole.Owner, NatsRole.Viewer];

export interface SubjectPermissions {
  publish: { allow: string[]; deny: string[] };
  subscribe: { allow: string[]; deny: string[] };
  /** May answer requests it received (their reply subjects), once each. */
  allow_responses?: boolean;
}


/** Every stream Vibewriter keeps; the runtime creates and maintains all but the mandates. */
const RUNTIME_STREAMS = [
  Names.stateStream,
  Names.eventsStream,
  kvStreamName(Names.memoryBucket),
  objectStoreStreamName(Names.filesBucket),
  Names.ledgerStream,
  kvStreamName(Names.paymentsBucket),
  Names.choirStream,
  kvStreamName(Names.choirReportsBucket),
  objectStoreStreamName(Names.choirBodiesBucket),
  kvStreamName(Names.leasesBucket),
  Names.runsStream,
];
/** Streams whose history decides money: nobody but an operator deletes, purges or reconfigures them. */
const GUARDED_STREAMS = [Names.ledgerStream, kvStreamName(Names.paymentsBucket), kvStreamName(Names.mandatesBucket)];

/** Reading: stream and consumer info, direct and stored-message gets, ephemeral consumers. */
const READ_API = [
  "$JS.API.INFO",
  "$JS.API.STREAM.NAMES",
  "$JS.API.STREAM.LIST",
  "$JS.API.STREAM.INFO.*",
  "$JS.API.STREAM.MSG.GET.*",
  "$JS.API.DIRECT.GET.>",
  "$JS.API.CONSUMER.CREATE.>",
  "$JS.API.CONSUMER.INFO.>",
  "$JS.API.CONSUMER.DELETE.>",
  "$JS.API.CONSUMER.MSG.NEXT.>",
  "$JS.API.CONSUMER.NAMES.*",
  "$JS.API.CONSUMER.LIST.*",
  "$JS.FC.>",
];

/** Replies (request/response, acks, consumer deliveries) come to the client's inbox. */
const SUBSCRIBE = { allow: ["_INBOX.>"], deny: [] as string[] };

export function rolePermissions(role: NatsRole): SubjectPermissions {
  switch (role) {
    case NatsRole.Runtime: {
      const maintained = RUNTIME_STREAMS.filter((s) => !GUARDED_STREAMS.includes(s));
      return {
        publish: {
          allow: [
            ...READ_API,
            "$JS.ACK.>",
            "$JS.API.CONSUMER.DURABLE.CREATE.>",
            ...RUNTIME_STREAMS.map((s) => `$JS.API.STREAM.CREATE.${s}`),
            // Creating an absent mandates bucket is harmless: writing into it stays the owner's.
            `$JS.API.STREAM.CREATE.${kvStreamName(Names.mandatesBucket)}`,
            ...maintained.flatMap((s) => [`$JS.API.STREAM.UPDATE.${s}`, `$JS.API.STREAM.PURGE.${s}`, `$JS.API.STREAM.MSG.DELETE.${s}`]),
            `${Names.stateSubjectPrefix}.>`,
            `${Names.eventsSubjectPrefix}.>`,
            `${Names.duplicateEventsSubjectPrefix}.>`,
            `${kvSubjectPrefix(Names.memoryBucket)}.>`,
            `${objectStoreSubjectPrefix(Names.filesBucket)}.>`,
            Names.ledgerSubject,
            `${kvSubjectPrefix(Names.paymentsBucket)}.>`,
            Names.choirSubjects,
            `${kvSubjectPrefix(Names.choirReportsBucket)}.>`,
            `${objectStoreSubjectPrefix(Names.choirBodiesBucket)}.>`,
            `${kvSubjectPrefix(Names.leasesBucket)}.>`,
            `${Names.runsSubjectPrefix}.>`,
            // The NATS service's discovery and endpoints, as a caller too (replies: allow_responses).
            "$SRV.>",
            `${Names.serviceSubjectPrefix}.>`,
          ],
          deny: [`${kvSubjectPrefix(Names.mandatesBucket)}.>`, "$JS.API.STREAM.DELETE.>", ...GUARDED_STREAMS.flatMap(guardedApi)],
        },
        // A worker hosts the NATS service: it hears discovery and its endpoints, and answers each
        // request once, to the requester's inbox only (allow_responses), never to any subject.
        subscribe: { allow: [...SUBSCRIBE.allow, "$SRV.>", `${Names.serviceSubjectPrefix}.>`], deny: [] },
        allow_responses: true,
      };
    }
    case NatsRole.Owner:
      return {
        publish: {
          allow: [
            ...READ_API,
            `$JS.API.STREAM.CREATE.${kvStreamName(Names.mandatesBucket)}`,
            `$JS.API.STREAM.CREATE.${Names.ledgerStream}`,
            `$JS.API.STREAM.CREATE.${kvStreamName(Names.paymentsBucket)}`,
            `${kvSubjectPrefix(Names.mandatesBucket)}.>`,
            Names.ledgerSubject,
            // A rejection frees the amount reserved in the spend window, and marks the record.
            `${kvSubjectPrefix(Names.paymentsBucket)}.>`,
            `${Names.eventsSubjectPrefix}.>`,
            `${Names.duplicateEventsSubjectPrefix}.>`,
            // A decision puts the paused thread back on the run queue; the service as a caller.
            `${Names.runsSubjectPrefix}.>`,
            "$SRV.>",
            `${Names.serviceSubjectPrefix}.>`,
          ],
          deny: ["$JS.API.STREAM.DELETE.>", ...GUARDED_STREAMS.flatMap(guardedApi), `${kvSubjectPrefix(Names.memoryBucket)}.>`],
        },
        subscribe: SUBSCRIBE,
      };
    case NatsRole.Viewer:
      return {
        publish: { allow: [...READ_API, "$SRV.>", `${Names.serviceSubjectPrefix}.status`], deny: ["$JS.API.STREAM.DELETE.>", "$JS.API.STREAM.PURGE.>", "$JS.API.STREAM.UPDATE.>", "$JS.API.STREAM.CREATE.>"] },
        subscribe: SUBSCRIBE,
      };
  }
}

function guardedApi(stream: string): string[] {
  return [`$JS.API.STREAM.PURGE.${stream}`, `$JS.API.STREAM.MSG.DELETE.${stream}`, `$JS.API.STREAM.UPDATE.${stream}`];
}

/** The public half of an identity, as the server knows it. */
export interface NatsUser {
  role: NatsRole;
  /** nkey public key (`U…`). */
  nkey: string;
  /** Instead of the role's (a test's observer that hears every event publish). */
  permissions?: SubjectPermissions;
}

/**
 * The `authorization` block of a nats-server config (NATS config syntax accepts JSON values).
 * Holds public keys only: the file may be read by whoever runs the server.
 */
export function renderAuthorization(users: NatsUser[]): string {
  const entries = users.map((u) => ({ nkey: u.nkey, permissions: u.permissions ?? rolePermissions(u.role) }));
  return (
    "# Vibewriter identities: runtime, owner, viewer (nkeys). No anonymous access.\n" +
    `# ${users.map((u) => `${u.role}=${u.nkey}`).join("  ")}\n` +
    `authorization: ${JSON.stringify({ users: entries }, null, 2)}\n`
  );
}
