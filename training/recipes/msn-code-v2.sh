#!/usr/bin/env bash
# The default model msn-code-v2 (model/): repo-level samples, multi-query attention, then MSN as the
# paper uses it — pretrain without noise, then fine-tune two arms from the same checkpoint on the
# same rows and steps: MSN noise (span 5, shipped) and no noise (the control).
# Every step is resumable: rerun and finished work is skipped or continued; SIGTERM checkpoints.
#   bash training/recipes/msn-code-v2.sh pretrain          # corpus, tokenizer, packing, pretraining
#   bash training/recipes/msn-code-v2.sh arms              # both fine-tuning arms (one thread each, in parallel)
# Knobs: THREADS (pretraining), PRETRAIN_TOKENS, ARM_TOKENS, MAX_MINUTES (per invocation of the trainer).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
CORPUS=${CORPUS:-training/data/corpus-v2}
WORK=${WORK:-training/data/msn-code-v2}
RUNS=${RUNS:-training/runs}
THREADS=${THREADS:-1}
PRETRAIN_TOKENS=${PRETRAIN_TOKENS:-6e6}
ARM_TOKENS=${ARM_TOKENS:-1.5e6}
MAX_MINUTES=${MAX_MINUTES:-}
SEQ=1024
step=${1:-pretrain}

data() {
  # 1. Corpus v2: pinned sources (training/corpus/sources/pinned.tsv), all of it.
  [ -f "$CORPUS/READY" ] || { $PY -m training.corpus.build fetch
    $PY -m training.corpus.build build --max-mb 700 --near-dup-threshold 0 --out "$CORPUS" --ready; }
  # 2. Tokenizer: 8192-token byte-level BPE with the FIM and repo-level tokens.
  [ -f "$WORK/tokenizer.json" ] || $PY -m training.data tokenizer --corpus "$CORPUS/train.jsonl" \
    --sample-mb 30 --vocab 8192 --out "$WORK/tokenizer.json"
  # 3. Repo-level samples (PSM, SPM and plain), packed into 1024-token rows.
  $PY -m training.data tokenize --layout repo --corpus "$CORPUS/train.jsonl" --tokenizer "$WORK/tokenizer.json" \
    --out "$WORK/train" --seed 0 --seq-len $SEQ --fim-rate 0.6 --max-records 15000 | tail -n 1
  $PY -m training.data tokenize --layout repo --corpus "$CORPUS/val.jsonl" --tokenizer "$WORK/tokenizer.json" \
    --out "$WORK/val" --seed 1 --seq-len $SEQ --fim-rate 0.6 --max-records 3000 | tail -n 1
}

common=(--train-data "$WORK/train" --val-data "$WORK/val" --tokenizer "$WORK/tokenizer.json" --batch-size 8
        --checkpoint-minutes 5 --eval-every 50 --val-rows 48 --log-every 5 --seed 0 --resume
        ${MAX_MINUTES:+--max-minutes "$MAX_MINUTES"})

case "$step" in
  pretrain)
    data
    $PY -m training.train --run-dir "$RUNS/v2-pretrain" --preset 5m-mqa --noise none --lr 2e-3 \
      --warmup-steps 30 --max-tokens "$PRETRAIN_TOKENS" --threads "$THREADS" "${common[@]}" ;;
  arms)
    # Same init, rows, steps and seed; only the noise differs.
    for arm in msn none; do
      $PY -m training.train --run-dir "$RUNS/v2-$arm" --init "$RUNS/v2-pretrain/hf" --noise $arm --span-length 5 \
        --lr 6e-4 --warmup-steps 10 --max-tokens "$ARM_TOKENS" --threads 1 "${common[@]}" &
    done
    wait ;;
  *) echo "usage: $0 pretrain|arms" >&2; exit 2 ;;
esac
