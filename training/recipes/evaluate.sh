#!/usr/bin/env bash
# The quality numbers of a model card, each with the command that reproduces it, as JSON in RESULTS/.
#   bash training/recipes/evaluate.sh MODEL_DIR NAME RESULTS [CONTEXT]
#   MODEL_DIR: an exported msn-onnx/1 folder; NAME: the results' file stem; CONTEXT: prompt+answer tokens (1024).
set -euo pipefail
cd "$(dirname "$0")/../.."
model=$1; name=$2; out=$3; context=${4:-1024}
mkdir -p "$out"
.venv/bin/python -m training.evaluate --model "$model" --val training/data/corpus-v2/val.jsonl \
  --tasks loss,next-line,next-line-repo,copy,he-single,he-multi --limit 100 --next-line 100 \
  --max-val-tokens 50000 --context "$context" --threads 1 --out "$out/$name.evaluate.json"
