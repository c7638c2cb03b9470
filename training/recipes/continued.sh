#!/usr/bin/env bash
# One recipe for the default model's versions since v4: a previous version's pretrained weights trained on
# from a warm restart, on a fresh draw of repo-level samples, then two fine-tune arms from that checkpoint on
# the same rows and steps — MSN noise (span 5, the arm that ships) and no noise — then export.
# A version is a settings file (training/recipes/msn-code-vN.env); every step is resumable (rerun: finished
# work is skipped or continued; SIGTERM checkpoints).
#   bash training/recipes/continued.sh training/recipes/msn-code-v5.env pretrain   # samples + continued pretraining
#   bash training/recipes/continued.sh training/recipes/msn-code-v5.env msn        # the MSN fine-tune
#   bash training/recipes/continued.sh training/recipes/msn-code-v5.env none       # the no-noise arm
#   bash training/recipes/continued.sh training/recipes/msn-code-v5.env finalize [OUT]  # export to OUT (model/)
#   bash training/recipes/continued.sh training/recipes/msn-code-v7.env keep   # a pretraining-only link of the chain
# Knobs (environment): THREADS, FINETUNE_LR (settings files since v6 set it), PRETRAIN_TOKENS, FINETUNE_TOKENS, MAX_MINUTES (per invocation of the trainer).
set -euo pipefail
settings=$(realpath "$1"); step=${2:-pretrain}; out=${3:-model}
cd "$(dirname "$0")/../.."
# shellcheck source=/dev/null
source "$settings"  # NAME, INIT, PREVIOUS_TRAINING_JSON, SEED, LINE_END_SHARE, NEAR_COPY_SHARE, PRETRAIN_LR, PRETRAIN_TOKENS, FINETUNE_TOKENS
PY=.venv/bin/python
CORPUS=${CORPUS:-training/data/corpus-v2}
WORK=${WORK:-training/data/$NAME}
RUNS=${RUNS:-training/runs}
RUN=$RUNS/${NAME#msn-code-}
THREADS=${THREADS:-2}
MAX_MINUTES=${MAX_MINUTES:-}
SEQ=1024
INDENT_SHARE=${INDENT_SHARE:-0}  # settings files since v7 set it
SNAP_INDENTATION=${SNAP_INDENTATION:-0}  # since v8
mix=(--line-end-share "$LINE_END_SHARE" --near-copy-share "$NEAR_COPY_SHARE" --indent-share "$INDENT_SHARE")
[ "$SNAP_INDENTATION" = 1 ] && mix+=(--snap-indentation)

data() {
  [ -f "$CORPUS/READY" ] || { $PY -m training.corpus.build fetch
    $PY -m training.corpus.build build --max-mb 700 --near-dup-threshold 0 --out "$CORPUS" --ready; }
  mkdir -p "$WORK"
  cp "$INIT/tokenizer.json" "$WORK/tokenizer.json"  # the tokenizer the weights were trained with
  $PY -m training.data tokenize --layout repo --corpus "$CORPUS/train.jsonl" --tokenizer "$WORK/tokenizer.json" \
    --out "$WORK/train" --seed "$SEED" --seq-len $SEQ --fim-rate 0.6 --max-records 15000 --max-package-mb 3 "${mix[@]}" \
    --workers 2 | tail -n 1
  $PY -m training.data tokenize --layout repo --corpus "$CORPUS/val.jsonl" --tokenizer "$WORK/tokenizer.json" \
    --out "$WORK/val" --seed 1 --seq-len $SEQ --fim-rate 0.6 --max-records 3000 --max-package-mb 3 "${mix[@]}" \
    --workers 2 | tail -n 1
}

# msn.json's training record: the whole budget (every earlier version's pretraining, this one's, the MSN fine-tune).
training_record() {
  $PY - "$PREVIOUS_TRAINING_JSON" "$RUN-pretrain" "$RUN-msn" "$LINE_END_SHARE" "$NEAR_COPY_SHARE" "$INDENT_SHARE" "$SNAP_INDENTATION" <<'PYEOF'
import json, sys
previous = json.load(open(sys.argv[1]))  # the version whose pretrained weights this one starts from
pre, msn = (json.load(open(f"{d}/hf/training.json")) for d in sys.argv[2:4])
line_end, near_copy, indent = (float(x) for x in sys.argv[4:7])
snap = sys.argv[7] == "1"
print(json.dumps({
    "method": "msn", "msn_span_length": 5, "preset": "5m-mqa",
    "tokens_seen": previous["pretrain_tokens"] + pre["tokens_seen"] + msn["tokens_seen"],
    "pretrain_tokens": previous["pretrain_tokens"] + pre["tokens_seen"], "msn_finetune_tokens": msn["tokens_seen"],
    "val_loss": msn.get("val_loss"), "step": msn.get("step"),
    "corpus": "corpus v2: permissive code from npm and Debian, pinned in training/corpus/sources/pinned.tsv; model/SOURCES.tsv",
    "layout": "repo-level (Qwen2.5-Coder tokens), FIM PSM + SPM (0.3 each), plain 0.4; editor-like cursor splits "
              f"({line_end:.0%} at a line end" + (f", {indent:.0%} right after the indentation" if indent else "")
              + f"){', uniform splits never inside leading whitespace' if snap else ''}, near copies in {near_copy:.0%} of contexts",
    "seq_len": 1024,
}, indent=1))
PYEOF
}

finalize() {
  training_record > "training/recipes/$NAME.training.json"
  $PY -m training.export --checkpoint "$RUN-msn/hf" --tokenizer "$RUN-msn/hf/tokenizer.json" --out "$out" --name "$NAME" \
    --fim-orders "${FIM_ORDERS:-spm,psm}" --training-json "training/recipes/$NAME.training.json"
  $PY -m training.parity --model "$out" --checkpoint "$RUN-msn/hf"
  cp "$CORPUS/SOURCES.tsv" "$out/SOURCES.tsv"
  for arm in pretrain msn none; do
    [ -f "$RUN-$arm/run.json" ] || continue  # the no-noise arm is optional
    cp "$RUN-$arm/run.json" "training/recipes/$NAME.$arm.run.json"
    cp "$RUN-$arm/log.jsonl" "training/recipes/$NAME.$arm.log.jsonl"
  done
  # The pretrained weights in bf16 (half the size), loadable with --init (from_pretrained upcasts).
  $PY -m training.bf16_weights "$RUN-pretrain/hf" "training/recipes/$NAME-pretrain"
  cat "$out/msn.json"
}

# A version whose pretraining is only a link of the chain (no arms, not exported): its bf16 weights, logs and
# training record, so the next version can start from it.
keep() {
  $PY - "$PREVIOUS_TRAINING_JSON" "$RUN-pretrain" > "training/recipes/$NAME.training.json" <<'PYEOF'
import json, sys
previous = json.load(open(sys.argv[1]))
pre = json.load(open(f"{sys.argv[2]}/hf/training.json"))
total = previous["pretrain_tokens"] + pre["tokens_seen"]  # no fine-tune: everything seen is pretraining
print(json.dumps({"method": "pretraining only (a link of the chain)", "pretrain_tokens": total, "tokens_seen": total,
                  "stage_tokens": pre["tokens_seen"], "step": pre["step"], "val_loss": pre.get("val_loss")}, indent=1))
PYEOF
  cp "$RUN-pretrain/run.json" "training/recipes/$NAME.pretrain.run.json"
  cp "$RUN-pretrain/log.jsonl" "training/recipes/$NAME.pretrain.log.jsonl"
  $PY -m training.bf16_weights "$RUN-pretrain/hf" "training/recipes/$NAME-pretrain"
  cat "training/recipes/$NAME.training.json"
}

common=(--train-data "$WORK/train" --val-data "$WORK/val" --tokenizer "$WORK/tokenizer.json" --batch-size 8
        --checkpoint-minutes 5 --eval-every 100 --val-rows 48 --log-every 5 --seed 0 --resume --threads "$THREADS"
        ${MAX_MINUTES:+--max-minutes "$MAX_MINUTES"})
finetune=(--init "$RUN-pretrain/hf" --lr "${FINETUNE_LR:-4e-4}" --warmup-steps 10 --max-tokens "${FINETUNE_TOKENS}")

case "$step" in
  pretrain)
    data
    $PY -m training.train --run-dir "$RUN-pretrain" --init "$INIT" --noise none --lr "$PRETRAIN_LR" \
      --warmup-steps 30 --max-tokens "$PRETRAIN_TOKENS" "${common[@]}" ;;
  msn) $PY -m training.train --run-dir "$RUN-msn" --noise msn --span-length 5 "${finetune[@]}" "${common[@]}" ;;
  none) $PY -m training.train --run-dir "$RUN-none" --noise none "${finetune[@]}" "${common[@]}" ;;
  finalize) finalize ;;
  keep) keep ;;
  *) echo "usage: $0 SETTINGS pretrain|msn|none|finalize [OUT]|keep" >&2; exit 2 ;;
esac
