/** `vibewriter doctor`: run every check, print what is ready and what is missing, exit 0 iff ready. */
import { embeddedDurability, embeddedStoreCap, Names, NatsRole, natsServerVersion, redactUrl } from "../../nats/index.ts";
import { connect } from "@nats-io/transport-node";
import { chooseModel } from "../../agent/index.ts";
import { openAppBackbone, policyPathFor } from "../../app/index.ts";
import {
  checkGuestImage,
  checkKvm,
  checkModel,
  checkModelEndpoint,
  checkNats,
  checkNatsDurability,
  checkNatsServerBinary,
  checkNode,
  checkQemu,
  checkWallet,
  checkOwner,
  checkPolicy,
  renderDoctorReport,
  summarize,
  type NatsFinding,
} from "../doctor/index.ts";
import { probeGuestImage, probeKvm } from "../doctor/probes.ts";
import { probeModelEndpoint } from "../doctor/model-endpoint.ts";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { checkNatsDisk } from "../doctor/disk.ts";
import { checkNatsCluster, probeCluster, type ClusterFinding } from "../doctor/cluster.ts";
import { loadPolicyFile, readOwnerPublicKey } from "../../wallet/index.ts";
import { stateDir } from "../../config/index.ts";
import { printJson, type CliContext } from "../context.ts";
import type { CommandPlan } from "../plan.ts";

export async function runDoctor(plan: Extract<CommandPlan, { command: "doctor" }>, ctx: CliContext): Promise<number> {
  const usingNatsUrl = (ctx.env.NATS_URL ?? "").trim() !== "";

  let natsFound: NatsFinding | undefined;
  let clusterFound: ClusterFinding | undefined;
  const openNats = async (): Promise<NatsFinding> => {
    const backbone = await openAppBackbone({ env: ctx.env, name: "vibewriter-doctor", role: NatsRole.Runtime });
    ctx.defer(() => backbone.close());
    const info = backbone.nc.info;
    const url = backbone.server?.url ?? (usingNatsUrl ? ctx.env.NATS_URL! : `nats://127.0.0.1:${info?.port}`);
    // Does the server let in someone with no credentials? Try, with no reconnects.
    const anonymousAccepted = await connect({ servers: url.split(",").map((s) => s.trim()), reconnect: false, timeout: 5_000 })
      .then(async (nc) => (await nc.close(), true))
      .catch(() => false);
    const embedded = backbone.server !== undefined || !usingNatsUrl;
    // The embedded server's sync setting, as recorded by whoever started it (it runs: we hold a lease).
    const syncAlways = embedded ? ((await embeddedDurability(join(stateDir(ctx.env), "nats")))?.syncAlways ?? false) : undefined;
    clusterFound = await probeCluster(backbone);
    return (natsFound = {
      url: redactUrl(url),
      embedded,
      serverVersion: info?.version ?? "unknown",
      created: [Names.stateStream, Names.eventsStream, `KV ${Names.memoryBucket}`, `Object Store ${Names.filesBucket}`, Names.ledgerStream, `KV ${Names.paymentsBucket}`, `KV ${Names.mandatesBucket}`],
      auth: backbone.auth,
      anonymousAccepted,
      ...(syncAlways === undefined ? {} : { syncAlways }),
    });
  };

  // Sequential on purpose: the machine may be small, and the NATS check starts a server.
  const checks = [
    await checkNode(),
    await checkNatsServerBinary(natsServerVersion(), usingNatsUrl),
    await checkNats(openNats, usingNatsUrl),
    await checkNatsDurability(natsFound),
    await checkNatsCluster(clusterFound),
    await checkNatsDisk(usingNatsUrl ? {} : { dir: join(stateDir(ctx.env), "nats"), maxFileStore: await embeddedStoreCap(join(stateDir(ctx.env), "nats")) }, ctx.env),
    await checkQemu(),
    await checkKvm(() => probeKvm(ctx.env)),
    await checkGuestImage(() => probeGuestImage(ctx.env)),
    await checkModel(async () => chooseModel(ctx.env)),
    await checkModelEndpoint(async () => chooseModel(ctx.env), (choice) => probeModelEndpoint(choice, ctx.env)),
    await checkWallet(ctx.env),
    await checkOwner(() => readOwnerPublicKey(stateDir(ctx.env), ctx.env)),
    await checkPolicy(policyPathFor(ctx.env), existsSync(policyPathFor(ctx.env)), loadPolicyFile),
  ];
  const report = summarize(checks);
  if (plan.json) printJson(ctx, report);
  else ctx.stdout.write(renderDoctorReport(report));
  return report.ok ? 0 : 1;
}
