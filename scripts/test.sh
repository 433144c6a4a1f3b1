#!/usr/bin/env bash
# `npm test`: lint and the import-cycle check, the unit tier (no service), then the integration tier after
# installing the services it runs against (its vitest global setup starts radosgw and the Cloud Storage
# emulator). Arguments go to both vitest runs (a file of one tier is no test of the other, hence
# --passWithNoTests); the exit status is the first failure's.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
npm run --silent lint
npm run --silent check:cycles
npx vitest run --project unit --passWithNoTests "$@"
bash scripts/services/install.sh all
npx vitest run --project integration --passWithNoTests "$@"
