#!/usr/bin/env bash
# `npm run bench`: installs what the benchmark runs against, then runs bench/bench.mjs, which builds the CLI
# and the bundles (scripts/build.mjs on a private copy of the sources), measures everything and writes
# docs/benchmarks.md. Takes ~10-15 minutes on 2 cores. Every service it starts (etcd, radosgw, the Cloud
# Storage emulator) and every temp dir is removed when it ends, also on failure or ctrl-c.
# Settings (env): see the top of bench/bench.mjs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/services/install.sh all
bash scripts/services/install.sh bench
node bench/bench.mjs "$@"
# The verify benchmark adds its section to the report bench.mjs has just written.
exec node bench/verify.mjs
