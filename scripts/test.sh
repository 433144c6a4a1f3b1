#!/usr/bin/env bash
# `npm test`: lint and the import-cycle check, the unit tier (no service), then the integration tier after
# installing the services it runs against (its vitest global setup starts radosgw and the Cloud Storage
# emulator). Arguments go to both vitest runs (a file of one tier is no test of the other, hence
# --passWithNoTests); the exit status is the first failure's.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# The tests and the CLIs they start make temporary directories (stores, downloads, fleet files, PKI): a
# scratch TMPDIR per run keeps them together and removes them at the end, pass or fail (thousands were
# left in /tmp otherwise).
TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/etcd-backup-test.XXXXXX")
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
npm run --silent lint
npm run --silent check:cycles
npx vitest run --project unit --passWithNoTests "$@"
bash scripts/services/install.sh all
npx vitest run --project integration --passWithNoTests "$@"
