#!/usr/bin/env bash
# Builds the extension and packages it as a linux-x64 VSIX with @vscode/vsce.
# Output: msn-complete-linux-x64.vsix in the repository root (override with VSIX_OUT=path).
#
# vsce is run in a staging folder holding only what a VSIX could contain (the build, the
# model, media, and the production dependencies): run in the repository itself it would
# walk and pattern-match every file of .venv/ and training/ (hundreds of thousands) first.
# .vscodeignore, an allowlist, then keeps the VSIX lean: the bundled host and decoder, the
# default model, the stats view assets, and onnxruntime-node's linux-x64 CPU binary only.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

out="${VSIX_OUT:-msn-complete-linux-x64.vsix}"
case "$out" in /*) ;; *) out="$root/$out" ;; esac

npm run --silent build

for required in dist/host/extension.js dist/decoder/main.js model/model.onnx model/tokenizer.json model/msn.json \
  node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node; do
  if [ ! -f "$required" ]; then
    echo "package: $required is missing" >&2
    exit 1
  fi
done

stage="$(mktemp -d "${TMPDIR:-/tmp}/msn-complete-vsix.XXXXXX")"
trap 'rm -rf "$stage"' EXIT

cp package.json .vscodeignore LICENSE "$stage/"
for optional in README.md CHANGELOG.md; do
  if [ -f "$optional" ]; then cp "$optional" "$stage/"; fi
done
cp -r dist model media "$stage/"

# The production dependency tree, so vsce's own `npm list` check passes in the stage.
# onnxruntime-node is copied without its 240 MB of other platforms' binaries.
npm ls --omit=dev --all --parseable 2>/dev/null | while read -r dir; do
  relative="${dir#"$root"/}"
  [ "$relative" = "$dir" ] && continue # the project itself
  mkdir -p "$stage/$(dirname "$relative")"
  if [ "$relative" = node_modules/onnxruntime-node ]; then
    mkdir -p "$stage/$relative/bin/napi-v6/linux"
    for entry in "$relative"/*; do
      [ "$(basename "$entry")" = bin ] || cp -r "$entry" "$stage/$relative/"
    done
    cp -r "$relative/bin/napi-v6/linux/x64" "$stage/$relative/bin/napi-v6/linux/"
  else
    mkdir -p "$stage/$relative"
    # Nested node_modules are listed (and copied) on their own lines.
    find "$relative" -mindepth 1 -maxdepth 1 ! -name node_modules -exec cp -r {} "$stage/$relative/" \;
  fi
done

# --allow-missing-repository: the project has no public repository URL to record.
(cd "$stage" && "$root/node_modules/.bin/vsce" package --target linux-x64 --allow-missing-repository --out "$out")

# Guard against a .vscodeignore regression shipping other platforms' binaries, GPU
# providers, source maps or sources.
listing="$(unzip -Z1 "$out")"
if grep -E 'bin/napi-v6/(darwin|win32|linux/arm64)|providers_(cuda|tensorrt)|\.map$|\.ts$|/(adm-zip|global-agent)/' <<<"$listing"; then
  echo "package: the VSIX contains files it must not (listed above)" >&2
  exit 1
fi
echo "package: $out ($(du -h "$out" | cut -f1), $(wc -l <<<"$listing") entries)"
