#!/usr/bin/env bash
# Fast self-test of scripts/check-vsix.sh on hand-made archives (empty files with a VSIX's names):
# a right linux-arm64 VSIX passes; another platform's binary, a missing own binary, a wrong
# TargetPlatform, a missing forward-pass worker or a source map fail. The real archives are
# checked by `npm run package` itself.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
command -v zip >/dev/null || { echo "check-vsix.test: zip is not installed, skipped"; exit 0; }

work="$(mktemp -d "${TMPDIR:-/tmp}/check-vsix-test.XXXXXX")"
trap 'rm -rf "$work"' EXIT
bin=node_modules/onnxruntime-node/bin/napi-v6

# fake_vsix NAME DECLARED_TARGET BINARY_DIR... : a zip with the required entries and those binaries.
fake_vsix() {
  local name="$1" declared="$2" tree="$work/$1.tree" dir file
  shift 2
  mkdir -p "$tree/extension/dist/host" "$tree/extension/dist/decoder" "$tree/extension/model" \
    "$tree/extension/node_modules/onnxruntime-node/dist" "$tree/extension/node_modules/onnxruntime-common"
  echo "<Identity Id=\"msn-complete\" TargetPlatform=\"$declared\"/>" >"$tree/extension.vsixmanifest"
  for file in package.json dist/host/extension.js dist/decoder/main.js dist/decoder/forwardWorker.js model/model.onnx model/tokenizer.json \
    model/msn.json model/mixture.json node_modules/onnxruntime-node/package.json node_modules/onnxruntime-node/dist/index.js \
    node_modules/onnxruntime-common/package.json; do
    : >"$tree/extension/$file"
  done
  for dir in "$@"; do
    mkdir -p "$tree/extension/$dir"
    for file in "$root/$dir"/*; do : >"$tree/extension/$dir/$(basename "$file")"; done
  done
  (cd "$tree" && zip -qr "$work/$name.vsix" .)
}

failed=0
expect() {
  local outcome="$1" vsix="$2" pattern="${3:-}" output status=0
  output="$(bash scripts/check-vsix.sh "$vsix" 2>&1)" || status=$?
  if [ "$outcome" = pass ] && [ "$status" -eq 0 ]; then return; fi
  if [ "$outcome" = fail ] && [ "$status" -ne 0 ] && grep -q -- "$pattern" <<<"$output"; then return; fi
  echo "check-vsix.test: expected $outcome for $(basename "$vsix") ${pattern:+($pattern)}, got status $status:" >&2
  echo "$output" >&2
  failed=1
}

fake_vsix msn-complete-linux-arm64 linux-arm64 "$bin/linux/arm64"
expect pass "$work/msn-complete-linux-arm64.vsix"

fake_vsix other-linux-arm64 linux-arm64 "$bin/linux/arm64" "$bin/win32/x64"
expect fail "$work/other-linux-arm64.vsix" "not of its platform extension/$bin/win32/x64/onnxruntime.dll"

fake_vsix wrong-linux-arm64 linux-x64 "$bin/linux/arm64"
expect fail "$work/wrong-linux-arm64.vsix" 'declares TargetPlatform "linux-x64", expected "linux-arm64"'

fake_vsix missing-linux-arm64 linux-arm64 "$bin/linux/arm64"
zip -qd "$work/missing-linux-arm64.vsix" "extension/$bin/linux/arm64/libonnxruntime.so.1"
expect fail "$work/missing-linux-arm64.vsix" "missing its platform binary extension/$bin/linux/arm64/libonnxruntime.so.1"

# The decoding process cannot run its forward passes without the worker's entry point.
fake_vsix noworker-linux-arm64 linux-arm64 "$bin/linux/arm64"
zip -qd "$work/noworker-linux-arm64.vsix" extension/dist/decoder/forwardWorker.js
expect fail "$work/noworker-linux-arm64.vsix" "missing extension/dist/decoder/forwardWorker.js"

fake_vsix map-linux-arm64 linux-arm64 "$bin/linux/arm64"
(cd "$work/map-linux-arm64.tree" && : >extension/dist/host/extension.js.map && zip -q "$work/map-linux-arm64.vsix" extension/dist/host/extension.js.map)
expect fail "$work/map-linux-arm64.vsix" "must not: extension/dist/host/extension.js.map"

# TARGET=PATH overrides the name.
expect fail "win32-x64=$work/msn-complete-linux-arm64.vsix" 'expected "win32-x64"'

[ "$failed" -eq 0 ] && echo "check-vsix.test: ok"
exit "$failed"
