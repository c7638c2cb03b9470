#!/usr/bin/env bash
# The shipped model (model/): MSN training of the "5m" preset on the project corpus.
# Every step is resumable: rerun the script and finished steps are skipped or continued.
#   bash training/recipes/msn-code-5m.sh                  # all steps, then training
#   MAX_MINUTES=60 THREADS=1 bash training/recipes/msn-code-5m.sh
# Stop training any time with SIGTERM (it checkpoints and exits); rerun to resume.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
CORPUS=${CORPUS:-training/data/corpus}
WORK=${WORK:-training/data/msn-code-5m}
RUN=${RUN:-training/runs/msn-code-5m}
THREADS=${THREADS:-2}
MAX_TOKENS=${MAX_TOKENS:-3e6}
MAX_MINUTES=${MAX_MINUTES:-}

mkdir -p "$WORK"
# 1. Snapshot the corpus (the corpus builder may rewrite its folder) and record its hashes.
if [ ! -f "$WORK/corpus/SHA256SUMS" ]; then
  mkdir -p "$WORK/corpus"
  cp "$CORPUS/train.jsonl" "$CORPUS/val.jsonl" "$WORK/corpus/"
  cp "$CORPUS/SOURCES.tsv" "$WORK/corpus/" 2>/dev/null || true
  (cd "$WORK/corpus" && sha256sum train.jsonl val.jsonl > SHA256SUMS)
fi
cat "$WORK/corpus/SHA256SUMS"
# 2. Tokenizer: 8192-token byte-level BPE on ~30 MB of the train split.
[ -f "$WORK/tokenizer.json" ] || $PY -m training.data tokenizer --corpus "$WORK/corpus/train.jsonl" \
  --sample-mb 30 --vocab 8192 --out "$WORK/tokenizer.json"
# 3. FIM + tokenize + pack into 512-token rows (shards are skipped when present).
$PY -m training.data tokenize --corpus "$WORK/corpus/train.jsonl" --tokenizer "$WORK/tokenizer.json" \
  --out "$WORK/train" --seed 0 | tail -n 3
$PY -m training.data tokenize --corpus "$WORK/corpus/val.jsonl" --tokenizer "$WORK/tokenizer.json" \
  --out "$WORK/val" --seed 1 | tail -n 1
# 4. MSN training (resumes from $RUN/checkpoint.pt when present).
$PY -m training.train --run-dir "$RUN" --train-data "$WORK/train" --val-data "$WORK/val" \
  --tokenizer "$WORK/tokenizer.json" --preset 5m --noise msn --span-length 5 \
  --batch-size 8 --lr 1.5e-3 --warmup-steps 50 --max-tokens "$MAX_TOKENS" \
  ${MAX_MINUTES:+--max-minutes "$MAX_MINUTES"} --checkpoint-minutes 5 --eval-every 100 --val-rows 64 \
  --log-every 5 --threads "$THREADS" --seed 0 --resume
