#!/usr/bin/env bash
# `npm run test:e2e`: packages the VSIX, installs it into a fresh code-server and drives the
# workbench with Debian Chromium (playwright-core). Screenshots: test-results/e2e/.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash test/harness/install.sh
export MSN_E2E_VSIX="${MSN_E2E_VSIX:-$PWD/msn-complete-linux-x64.vsix}"
VSIX_OUT="$MSN_E2E_VSIX" npm run --silent package
exec npx --no-install mocha --config test/e2e/mocharc.json
