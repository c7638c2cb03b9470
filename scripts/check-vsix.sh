#!/usr/bin/env bash
# Checks platform-specific VSIXs (scripts/package.sh runs it on what it built).
#   bash scripts/check-vsix.sh [TARGET=]VSIX ...   (no arguments: every msn-complete-*.vsix here)
# A bare path names its target in its file name (msn-complete-linux-x64.vsix). Each archive must
#  - declare that target in extension.vsixmanifest (the TargetPlatform vsce --target writes),
#  - hold exactly the onnxruntime-node binary files of that platform, as installed in node_modules,
#    and none of any other platform,
#  - hold the extension's entry points (the decoding process's forward-pass worker too), the default
#    model and onnxruntime-node's JS,
#  - hold no GPU providers, source maps, TypeScript sources or onnxruntime-node's install-time deps.
set -euo pipefail
export LC_ALL=C # sort and comm agree on order
cd "$(dirname "$0")/.."

ALL_TARGETS="linux-x64 linux-arm64 darwin-arm64 darwin-x64 win32-x64"
BIN_ROOT=node_modules/onnxruntime-node/bin/napi-v6
REQUIRED="extension.vsixmanifest extension/package.json extension/dist/host/extension.js
extension/dist/decoder/main.js extension/dist/decoder/forwardWorker.js extension/model/model.onnx extension/model/tokenizer.json extension/model/msn.json extension/model/mixture.json
extension/node_modules/onnxruntime-node/package.json extension/node_modules/onnxruntime-node/dist/index.js
extension/node_modules/onnxruntime-common/package.json"
FORBIDDEN='providers_(cuda|tensorrt)|\.map$|\.ts$|/(adm-zip|global-agent)/'

failures=0

# The target named by a file name ending in -<target>.vsix, or nothing.
target_of_name() {
  local name target
  name="$(basename "$1" .vsix)"
  for target in $ALL_TARGETS; do
    case "$name" in *-"$target") echo "$target"; return ;; esac
  done
}

# The archive paths the VSIX for $1 must hold under onnxruntime-node's bin/, sorted.
expected_binaries() {
  local dir file
  dir="$BIN_ROOT/${1%-*}/${1#*-}"
  [ -d "$dir" ] || { echo "check-vsix: $dir is not installed, cannot check $1" >&2; return 1; }
  for file in "$dir"/*; do echo "extension/$file"; done | sort
}

# Prints one problem per line for the VSIX $2 of target $1; nothing when it is right.
problems() {
  local target="$1" vsix="$2" listing declared expected actual required forbidden
  if ! listing="$(unzip -Z1 "$vsix" 2>/dev/null)"; then
    echo "not a readable zip archive"
    return
  fi
  listing="$(grep -v '/$' <<<"$listing" || true)" # files only (vsce writes no folder entries; zip -r does)
  declared="$(unzip -p "$vsix" extension.vsixmanifest | grep -o 'TargetPlatform="[^"]*"' | head -n 1 | cut -d '"' -f 2 || true)"
  [ "$declared" = "$target" ] || echo "extension.vsixmanifest declares TargetPlatform \"$declared\", expected \"$target\""
  expected="$(expected_binaries "$target")" || { echo "no installed binaries to compare with"; return; }
  actual="$(grep '^extension/node_modules/onnxruntime-node/bin/' <<<"$listing" | sort || true)"
  comm -23 <(echo "$expected") <(echo "$actual") | sed 's/^/missing its platform binary /'
  comm -13 <(echo "$expected") <(echo "$actual") | sed 's/^/holds a binary not of its platform /'
  for required in $REQUIRED; do
    grep -qxF "$required" <<<"$listing" || echo "missing $required"
  done
  forbidden="$(grep -E "$FORBIDDEN" <<<"$listing" || true)"
  [ -z "$forbidden" ] || sed 's/^/holds a file it must not: /' <<<"$forbidden"
}

check() {
  local target="$1" vsix="$2" found size
  found="$(problems "$target" "$vsix")"
  if [ -n "$found" ]; then
    sed "s|^|check-vsix: $vsix: |" <<<"$found" >&2
    failures=$((failures + 1))
    return
  fi
  size="$(du -h "$vsix" | cut -f 1)"
  echo "check-vsix: $vsix: $target, $size, $(unzip -Z1 "$vsix" | wc -l) entries, binaries: $(expected_binaries "$target" | xargs -n 1 basename | tr '\n' ' ')"
}

args=("$@")
if [ ${#args[@]} -eq 0 ]; then
  shopt -s nullglob
  args=(msn-complete-*.vsix)
  [ ${#args[@]} -gt 0 ] || { echo "check-vsix: no msn-complete-*.vsix here; run npm run package" >&2; exit 1; }
fi
for arg in "${args[@]}"; do
  case "$arg" in
    *=*) target="${arg%%=*}" vsix="${arg#*=}" ;;
    *) target="$(target_of_name "$arg")" vsix="$arg" ;;
  esac
  case " $ALL_TARGETS " in
    *" $target "*) ;;
    *) echo "check-vsix: $arg: no target (name it msn-complete-<target>.vsix or pass TARGET=PATH; targets: $ALL_TARGETS)" >&2
       failures=$((failures + 1)); continue ;;
  esac
  check "$target" "$vsix"
done
[ "$failures" -eq 0 ] || { echo "check-vsix: $failures VSIX(s) failed" >&2; exit 1; }
