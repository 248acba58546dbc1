#!/usr/bin/env bash
# A real 3-node nats-server cluster on loopback for Vibewriter: routes, JetStream (a store per node),
# the identities of `vibewriter nats config`. Start it and point Vibewriter at it:
#   eval "$(scripts/nats-cluster.sh start)"     # exports NATS_URL (3 seeds) and VIBEWRITER_NATS_REPLICAS=3
#   scripts/nats-cluster.sh status | stop [DIR]
# DIR: <state dir>/nats-cluster by default. Needs nats-server (2.9.10 or newer) and Node 20.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec node --import "file://$root/node_modules/tsx/dist/esm/index.mjs" "$root/scripts/nats-cluster.ts" "$@"
