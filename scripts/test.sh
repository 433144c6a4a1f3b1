#!/usr/bin/env bash
# `npm test`: installs the services the suites run against, then runs vitest (its global setup starts
# radosgw and the Cloud Storage emulator). Arguments go to vitest; the exit status is vitest's.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/services/install.sh all
exec npx vitest run "$@"
