#!/usr/bin/env bash
# `npm run package:aws`: builds the function bundles, then packages the Lambda deployment into .serverless/
# (one zip per function and the CloudFormation templates: what `serverless deploy` would upload). Needs no
# AWS credentials and no network: serverless.yml resolves nothing from AWS at package time (secrets are
# read by the function at run time). Arguments go to `serverless package`, e.g. --stage prod --param="bucket=b".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
node scripts/build.mjs
exec npx --no-install serverless package "$@"
