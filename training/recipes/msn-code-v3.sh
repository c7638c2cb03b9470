#!/usr/bin/env bash
# The default model msn-code-v3: msn-code-v2's pretrained weights (training/recipes/msn-code-v2-pretrain,
# 15M tokens) trained on, from a warm restart, on new repo-level samples whose cursor-like FIM splits are
# the editor's (a cursor at a line's end writes the next line; no blank middles; some with no suffix),
# then MSN fine-tuning (span 5), as the paper uses it: pretrain without noise, fine-tune with it.
# Every step is resumable: rerun and finished work is skipped or continued; SIGTERM checkpoints.
#   bash training/recipes/msn-code-v3.sh pretrain     # samples (corpus v2 must be built), continued pretraining
#   bash training/recipes/msn-code-v3.sh msn          # the MSN fine-tune
# Knobs: THREADS, PRETRAIN_TOKENS, MSN_TOKENS, MAX_MINUTES (per invocation of the trainer).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
CORPUS=${CORPUS:-training/data/corpus-v2}
WORK=${WORK:-training/data/msn-code-v3}
RUNS=${RUNS:-training/runs}
THREADS=${THREADS:-2}
PRETRAIN_TOKENS=${PRETRAIN_TOKENS:-28e6}
MSN_TOKENS=${MSN_TOKENS:-2e6}
MAX_MINUTES=${MAX_MINUTES:-}
INIT=training/recipes/msn-code-v2-pretrain
SEQ=1024
step=${1:-pretrain}

data() {
  [ -f "$CORPUS/READY" ] || { $PY -m training.corpus.build fetch
    $PY -m training.corpus.build build --max-mb 700 --near-dup-threshold 0 --out "$CORPUS" --ready; }
  mkdir -p "$WORK"
  cp "$INIT/tokenizer.json" "$WORK/tokenizer.json"  # the tokenizer the weights were trained with
  $PY -m training.data tokenize --layout repo --corpus "$CORPUS/train.jsonl" --tokenizer "$WORK/tokenizer.json" \
    --out "$WORK/train" --seed 3 --seq-len $SEQ --fim-rate 0.6 --max-records 15000 --max-package-mb 3 --workers 2 | tail -n 1
  $PY -m training.data tokenize --layout repo --corpus "$CORPUS/val.jsonl" --tokenizer "$WORK/tokenizer.json" \
    --out "$WORK/val" --seed 1 --seq-len $SEQ --fim-rate 0.6 --max-records 3000 --max-package-mb 3 --workers 2 | tail -n 1
}

common=(--train-data "$WORK/train" --val-data "$WORK/val" --tokenizer "$WORK/tokenizer.json" --batch-size 8
        --checkpoint-minutes 5 --eval-every 100 --val-rows 48 --log-every 5 --seed 0 --resume --threads "$THREADS"
        ${MAX_MINUTES:+--max-minutes "$MAX_MINUTES"})

case "$step" in
  pretrain)
    data
    $PY -m training.train --run-dir "$RUNS/v3-pretrain" --init "$INIT" --noise none --lr 1e-3 \
      --warmup-steps 30 --max-tokens "$PRETRAIN_TOKENS" "${common[@]}" ;;
  msn)
    $PY -m training.train --run-dir "$RUNS/v3-msn" --init "$RUNS/v3-pretrain/hf" --noise msn --span-length 5 \
      --lr 4e-4 --warmup-steps 10 --max-tokens "$MSN_TOKENS" "${common[@]}" ;;
  *) echo "usage: $0 pretrain|msn" >&2; exit 2 ;;
esac
