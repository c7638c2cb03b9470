#!/usr/bin/env bash
# Builds the extension and packages one platform-specific VSIX per target with @vscode/vsce --target:
# msn-complete-<target>.vsix in the repository root for each target in TARGETS (default: linux-x64
# linux-arm64 darwin-arm64 darwin-x64 win32-x64), each holding onnxruntime-node's binary files for
# that platform and no other's. VSIX_OUT=path builds a single VSIX to path: linux-x64, or the one
# target TARGETS names (test/e2e/run.sh uses this). scripts/check-vsix.sh checks every archive built.
#
# vsce is run in a staging folder holding only what a VSIX could contain (the build, the
# model, media, and the production dependencies): run in the repository itself it would
# walk and pattern-match every file of .venv/ and training/ (hundreds of thousands) first.
# .vscodeignore, an allowlist written for linux-x64, keeps the VSIX lean; for each target the
# stage gets a copy whose onnxruntime binary lines name that target's files instead, and only
# that target's binary folder is staged at all.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

ALL_TARGETS="linux-x64 linux-arm64 darwin-arm64 darwin-x64 win32-x64"
BIN_ROOT=node_modules/onnxruntime-node/bin/napi-v6

# onnxruntime-node's folder for a vsce target: linux-x64 -> .../napi-v6/linux/x64
binary_dir() { echo "$BIN_ROOT/${1%-*}/${1#*-}"; }

# The targets to build, one per line. A target whose binary the installed onnxruntime-node does not
# ship is skipped with a warning by default, and an error when asked for by TARGETS or VSIX_OUT.
select_targets() {
  local requested="${TARGETS:-$ALL_TARGETS}" strict="${TARGETS:+1}${VSIX_OUT:+1}" target version
  if [ -n "${VSIX_OUT:-}" ]; then
    requested="${TARGETS:-linux-x64}"
    if [ "$(wc -w <<<"$requested")" -ne 1 ]; then
      echo "package: VSIX_OUT builds one VSIX, but TARGETS names: $requested" >&2
      return 1
    fi
  fi
  version="$(node -p "require('./node_modules/onnxruntime-node/package.json').version")"
  for target in $requested; do
    case " $ALL_TARGETS " in
      *" $target "*) ;;
      *) echo "package: unknown target $target (one of: $ALL_TARGETS)" >&2; return 1 ;;
    esac
    if [ -f "$(binary_dir "$target")/onnxruntime_binding.node" ]; then
      echo "$target"
    elif [ -n "$strict" ]; then
      echo "package: onnxruntime-node $version ships no $target binary ($(binary_dir "$target") is missing)" >&2
      return 1
    else
      echo "package: skipping $target: onnxruntime-node $version ships no binary for it ($(binary_dir "$target"))" >&2
    fi
  done
}

# Everything a VSIX holds except onnxruntime-node's binaries, copied once into $1.
stage_common() {
  local stage="$1" dir relative optional entry
  cp package.json LICENSE "$stage/"
  for optional in README.md CHANGELOG.md; do
    if [ -f "$optional" ]; then cp "$optional" "$stage/"; fi
  done
  cp -r dist model media "$stage/"
  # The production dependency tree, so vsce's own `npm list` check passes in the stage.
  # onnxruntime-node is copied without bin/ (240 MB of every platform's binaries).
  npm ls --omit=dev --all --parseable 2>/dev/null | while read -r dir; do
    relative="${dir#"$root"/}"
    [ "$relative" = "$dir" ] && continue # the project itself
    mkdir -p "$stage/$relative"
    if [ "$relative" = node_modules/onnxruntime-node ]; then
      for entry in "$relative"/*; do
        [ "$(basename "$entry")" = bin ] || cp -r "$entry" "$stage/$relative/"
      done
    else
      # Nested node_modules are listed (and copied) on their own lines.
      find "$relative" -mindepth 1 -maxdepth 1 ! -name node_modules -exec cp -r {} "$stage/$relative/" \;
    fi
  done
}

# Packages the stage $1 as the VSIX $3 for target $2, with only that target's binary staged and allowed.
package_target() {
  local stage="$1" target="$2" out="$3" bin
  bin="$(binary_dir "$target")"
  rm -rf "$stage/node_modules/onnxruntime-node/bin"
  mkdir -p "$stage/$bin"
  cp "$bin"/* "$stage/$bin/"
  {
    grep -v '^!node_modules/onnxruntime-node/bin/' .vscodeignore
    echo "# $target (scripts/package.sh): onnxruntime-node's binary files for this platform only."
    for file in "$bin"/*; do echo "!$file"; done
  } >"$stage/.vscodeignore"
  # --allow-missing-repository: the project has no public repository URL to record.
  (cd "$stage" && "$root/node_modules/.bin/vsce" package --target "$target" --allow-missing-repository --out "$out")
}

targets="$(select_targets)"
if [ -z "$targets" ]; then
  echo "package: no target to build" >&2
  exit 1
fi

npm run --silent build

for required in dist/host/extension.js dist/decoder/main.js dist/decoder/forwardWorker.js model/model.onnx model/tokenizer.json model/msn.json model/mixture.json; do
  if [ ! -f "$required" ]; then
    echo "package: $required is missing" >&2
    exit 1
  fi
done

stage="$(mktemp -d "${TMPDIR:-/tmp}/msn-complete-vsix.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
stage_common "$stage"

built=()
for target in $targets; do
  out="${VSIX_OUT:-msn-complete-$target.vsix}"
  case "$out" in /*) ;; *) out="$root/$out" ;; esac
  package_target "$stage" "$target" "$out"
  built+=("$target=$out")
done

bash scripts/check-vsix.sh "${built[@]}"
