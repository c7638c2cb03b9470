#!/usr/bin/env bash
# The project's whole test run (README: `npm test`): installs what is missing, then runs
# type checks, the decoder/host unit tests in plain Node, the Python pipeline tests,
# the extension-host suite inside a real VS Code (code-server) and the browser end-to-end test.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --editor || { echo "setup failed"; exit 1; }

passed=0; failed=0; failures=()
run() {
  local name=$1; shift
  echo; echo "=== $name: $*"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$name"); fi
}
run typecheck npm run --silent typecheck
run unit npm run --silent test:unit
run packaging bash test/packaging/check-vsix.test.sh
run python npm run --silent test:py
run vscode npm run --silent test:vscode
run e2e npm run --silent test:e2e

echo
[ ${#failures[@]} -gt 0 ] && echo "failed suites: ${failures[*]}"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
