#!/usr/bin/env bash
# `npm run bench`: installs what the benchmark runs against, bundles it, then runs the snapshot benchmark
# (bench/snapshot.ts: builds the CLI and the bundles from a private copy of the sources, measures
# everything and writes docs/benchmarks.md), the verify benchmark (bench/verify.ts: adds its section) and
# the Kubernetes-like benchmark (bench/k8s.ts: snapshot, verify and restore on that data set; adds its
# section); BENCH_PARTS chooses among them. Takes ~20 minutes on 2 cores. Every service it starts (etcd, radosgw, the Cloud Storage emulator) and
# every temp dir is removed when it ends, also on failure or ctrl-c. Settings (env): bench/settings.ts.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/services/install.sh all
bash scripts/services/install.sh bench

# The benchmark is TypeScript and reuses the tests' etcd launcher (test/support/etcd.ts), whose imports name
# `.js` files as the rest of the repository does. Node's own type stripping does not map those to `.ts`, so
# esbuild (already a dependency) bundles each entry point first; packages stay external, and the output
# sits under node_modules/ so that node resolves them from the project's node_modules.
OUT=node_modules/.cache/etcd-backup-bench
rm -rf "$OUT"
npx esbuild bench/snapshot.ts bench/verify.ts bench/k8s.ts bench/coldstart.ts --bundle --platform=node --format=esm \
  --target=node22 --packages=external --outdir="$OUT" --out-extension:.js=.mjs --log-level=warning

# The verify and Kubernetes-like benchmarks add their sections to the report the snapshot benchmark writes.
parts=${BENCH_PARTS:-snapshot verify k8s}
for part in ${parts//,/ }; do
  case "$part" in
    snapshot) node "$OUT/snapshot.mjs" "$@" ;;
    verify | k8s) node "$OUT/$part.mjs" ;;
    *) echo "BENCH_PARTS: unknown part \"$part\" (snapshot, verify, k8s)" >&2; exit 2 ;;
  esac
done
