#!/usr/bin/env bash
# `npm start`: code-server on 127.0.0.1 (port 8080, or a free one if taken; PORT=N to choose)
# with the extension's VSIX installed and a copy of test/fixtures/e2e-workspace open. Prints the
# URL, stays in the foreground, stops everything on Ctrl+C.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d node_modules ] || ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
bash test/harness/install.sh

vsix="${VSIX_OUT:-$PWD/msn-complete-linux-x64.vsix}"
# Repackage when anything that goes into the VSIX is newer than it.
if [ ! -f "$vsix" ] || [ -n "$(find extension model media package.json .vscodeignore esbuild.mjs scripts/package.sh \
    -newer "$vsix" -print -quit 2>/dev/null)" ]; then
  echo "[start] packaging the extension"
  VSIX_OUT="$vsix" npm run --silent package
fi

exec node --import tsx test/harness/serve.ts --vsix "$vsix" "$@"
