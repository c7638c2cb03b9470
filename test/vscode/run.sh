#!/usr/bin/env bash
# `npm run test:vscode`: the extension-host mocha suite inside a real VS Code (code-server),
# against the real extension (this repository) and its shipped model.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash test/harness/install.sh
node esbuild.mjs
# The suite is compiled file by file (not bundled): mocha loads each *.test.js itself, and
# `vscode` and `mocha` are resolved at run time inside the extension host.
rm -rf out/test/vscode
npx --no-install esbuild test/vscode/suite/*.ts --outdir=out/test/vscode/suite \
  --platform=node --format=cjs --target=node20 --sourcemap --log-level=warning
exec node --import tsx test/vscode/runInCodeServer.ts
