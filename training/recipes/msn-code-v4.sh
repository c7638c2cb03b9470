#!/usr/bin/env bash
# The default model msn-code-v4: msn-code-v3's pretrained weights (training/recipes/msn-code-v3-pretrain,
# 24.5M tokens) trained on from a warm restart, on a fresh draw of repo-level samples (seed 4: other
# packages, splits and context than v3's) with two changes in the mix: a quarter (not half) of the
# cursor-like splits sit at a line's end, so the model more often finishes the line being typed instead
# of starting the next one, and 30% (not 15%) of samples carry a near copy of the window in their
# context, to buy copying. Then MSN fine-tuning (span 5), as the paper uses it.
# Every step is resumable: rerun and finished work is skipped or continued; SIGTERM checkpoints.
#   bash training/recipes/msn-code-v4.sh pretrain     # corpus v2 + samples, continued pretraining
#   bash training/recipes/msn-code-v4.sh msn          # the MSN fine-tune (span 5)
#   bash training/recipes/msn-code-v4.sh none         # the no-noise arm: same rows, steps and init
# Knobs: THREADS, PRETRAIN_TOKENS, FINETUNE_TOKENS, MAX_MINUTES (per invocation of the trainer).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
CORPUS=${CORPUS:-training/data/corpus-v2}
WORK=${WORK:-training/data/msn-code-v4}
RUNS=${RUNS:-training/runs}
THREADS=${THREADS:-2}
PRETRAIN_TOKENS=${PRETRAIN_TOKENS:-8.5e6}
FINETUNE_TOKENS=${FINETUNE_TOKENS:-0.5e6}
MAX_MINUTES=${MAX_MINUTES:-}
INIT=training/recipes/msn-code-v3-pretrain
SEQ=1024
step=${1:-pretrain}

data() {
  [ -f "$CORPUS/READY" ] || { $PY -m training.corpus.build fetch
    $PY -m training.corpus.build build --max-mb 700 --near-dup-threshold 0 --out "$CORPUS" --ready; }
  mkdir -p "$WORK"
  cp "$INIT/tokenizer.json" "$WORK/tokenizer.json"  # the tokenizer the weights were trained with
  mix=(--line-end-share 0.25 --near-copy-share 0.3)
  $PY -m training.data tokenize --layout repo --corpus "$CORPUS/train.jsonl" --tokenizer "$WORK/tokenizer.json" \
    --out "$WORK/train" --seed 4 --seq-len $SEQ --fim-rate 0.6 --max-records 15000 --max-package-mb 3 "${mix[@]}" \
    --workers 2 | tail -n 1
  $PY -m training.data tokenize --layout repo --corpus "$CORPUS/val.jsonl" --tokenizer "$WORK/tokenizer.json" \
    --out "$WORK/val" --seed 1 --seq-len $SEQ --fim-rate 0.6 --max-records 3000 --max-package-mb 3 "${mix[@]}" \
    --workers 2 | tail -n 1
}

common=(--train-data "$WORK/train" --val-data "$WORK/val" --tokenizer "$WORK/tokenizer.json" --batch-size 8
        --checkpoint-minutes 5 --eval-every 100 --val-rows 48 --log-every 5 --seed 0 --resume --threads "$THREADS"
        ${MAX_MINUTES:+--max-minutes "$MAX_MINUTES"})
finetune=(--init "$RUNS/v4-pretrain/hf" --lr 4e-4 --warmup-steps 10 --max-tokens "$FINETUNE_TOKENS")

case "$step" in
  pretrain)
    data
    $PY -m training.train --run-dir "$RUNS/v4-pretrain" --init "$INIT" --noise none --lr 6e-4 \
      --warmup-steps 30 --max-tokens "$PRETRAIN_TOKENS" "${common[@]}" ;;
  msn) $PY -m training.train --run-dir "$RUNS/v4-msn" --noise msn --span-length 5 "${finetune[@]}" "${common[@]}" ;;
  none) $PY -m training.train --run-dir "$RUNS/v4-none" --noise none "${finetune[@]}" "${common[@]}" ;;
  *) echo "usage: $0 pretrain|msn|none" >&2; exit 2 ;;
esac
