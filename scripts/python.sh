#!/usr/bin/env bash
# Runs the project's Python (the training pipeline's virtual environment) from the repo root.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python "$@"
