#!/usr/bin/env bash
# The one recipe of the default model's versions: a version is a row of training/recipes/versions.tsv (seed, sample
# mix, learning rates, token budgets, the weights it starts from). A version trains on from the previous version's
# pretrained weights (bf16, training/recipes/NAME-pretrain/) with a warm restart on a fresh draw of repo-level
# samples, then two fine-tune arms from that checkpoint on the same rows and steps — MSN noise (span 5, the arm that
# ships) and no noise — then exports. Every step is resumable (rerun: finished work is skipped or continued; SIGTERM
# makes the trainer checkpoint and exit). Logs and records go to training/results/.
#   bash training/recipes/recipe.sh msn-code-v9 show                 # the settings row
#   bash training/recipes/recipe.sh msn-code-v9 data                 # corpus (if missing) + this version's samples
#   bash training/recipes/recipe.sh msn-code-v9 pretrain [ARGS...]   # data + continued pretraining -> runs/v9-pretrain
#   bash training/recipes/recipe.sh msn-code-v10 arm C [ARGS...]     # an experiment arm of the pretraining stage -> runs/v10-C
#   bash training/recipes/recipe.sh msn-code-v9 msn                  # the MSN fine-tune -> runs/v9-msn
#   bash training/recipes/recipe.sh msn-code-v9 none                 # the no-noise arm -> runs/v9-none
#   bash training/recipes/recipe.sh msn-code-v9 finalize [OUT]       # export runs/v9-msn to OUT (default model/), parity,
#                                                                    #   logs, record, bf16 pretrained weights
#   bash training/recipes/recipe.sh msn-code-v7 keep                 # a pretraining-only link: bf16 weights, logs, record
#   bash training/recipes/recipe.sh msn-code-v5 evaluate DIR LABEL [CTX]  # training.evaluate of an exported folder
# ARGS are appended to the trainer's arguments (e.g. --precision fp32 --copy-rows 0.1).
# Knobs (environment): THREADS (2), MAX_MINUTES (per invocation of the trainer), PRETRAIN_TOKENS, FINETUNE_TOKENS (over
# the row's), CORPUS, WORK, RUNS, FIM_ORDERS (finalize; spm,psm).
set -euo pipefail
version=${1:?usage: recipe.sh VERSION show|data|pretrain|arm|msn|none|finalize|keep|evaluate ...}
step=${2:-show}
shift $(( $# >= 2 ? 2 : $# ))
cd "$(dirname "$0")/../.."
TABLE=training/recipes/versions.tsv
RESULTS=training/results

env_pretrain_tokens=${PRETRAIN_TOKENS:-} env_finetune_tokens=${FINETUNE_TOKENS:-}  # the environment wins over the row
# The row as shell variables named by the header, upper-cased (NAME, INIT, SEED, PRETRAIN_LR, ...).
row=$(awk -F'\t' -v name="$version" '
  NR == 1 { for (i = 1; i <= NF; i++) column[i] = toupper($i); next }
  $1 == name { for (i = 1; i <= NF; i++) print column[i] "=" $i; found = 1 }
  END { exit !found }' "$TABLE") || { echo "no row $version in $TABLE" >&2; exit 2; }
while IFS='=' read -r key value; do printf -v "$key" '%s' "$value"; done <<< "$row"
if [ "$step" = show ]; then echo "$row"; exit 0; fi
if [ "$RECIPE" != recipe.sh ]; then
  script=${RECIPE#former }; script=${script%% *}
  echo "$NAME was trained by training/recipes/$script, since removed; read it with:" >&2
  echo "  git show \$(git rev-list -n 1 HEAD -- training/recipes/$script)^:training/recipes/$script" >&2
  exit 2
fi

PY=.venv/bin/python
CORPUS=${CORPUS:-training/data/corpus-v2}
WORK=${WORK:-training/data/$NAME}
RUNS=${RUNS:-training/runs}
RUN=$RUNS/${NAME#msn-code-}
THREADS=${THREADS:-2}
MAX_MINUTES=${MAX_MINUTES:-}
PRETRAIN_TOKENS=${env_pretrain_tokens:-$PRETRAIN_TOKENS}
FINETUNE_TOKENS=${env_finetune_tokens:-$FINETUNE_TOKENS}
SEQ=1024
mix=(--line-end-share "$LINE_END_SHARE" --near-copy-share "$NEAR_COPY_SHARE" --indent-share "$INDENT_SHARE")
[ "$SNAP_INDENTATION" = 1 ] && mix+=(--snap-indentation)

need_init() {
  [ -d "$INIT" ] && return 0
  echo "$INIT is not in the tree (only the checkpoints a resume needs are kept); restore it with:" >&2
  echo "  git checkout \$(git rev-list -n 1 HEAD -- $INIT)^ -- $INIT" >&2
  exit 2
}

data() {
  need_init
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

keep_logs() {  # run.json and log.jsonl of this version's runs, as NAME.ARM.*
  for arm in "$@"; do
    [ -f "$RUN-$arm/run.json" ] || continue  # the no-noise arm is optional
    cp "$RUN-$arm/run.json" "$RESULTS/$NAME.$arm.run.json"
    cp "$RUN-$arm/log.jsonl" "$RESULTS/$NAME.$arm.log.jsonl"
  done
}

finalize() {
  local out=${1:-model}
  mkdir -p "$RESULTS"
  training_record > "$RESULTS/$NAME.training.json"
  $PY -m training.export --checkpoint "$RUN-msn/hf" --tokenizer "$RUN-msn/hf/tokenizer.json" --out "$out" --name "$NAME" \
    --fim-orders "${FIM_ORDERS:-spm,psm}" --training-json "$RESULTS/$NAME.training.json"
  $PY -m training.parity --model "$out" --checkpoint "$RUN-msn/hf"
  cp "$CORPUS/SOURCES.tsv" "$out/SOURCES.tsv"
  keep_logs pretrain msn none
  # The pretrained weights in bf16 (half the size), loadable with --init (from_pretrained upcasts).
  $PY -m training.bf16_weights "$RUN-pretrain/hf" "training/recipes/$NAME-pretrain"
  cat "$out/msn.json"
}

# A version whose pretraining is only a link of the chain (no arms, not exported): its bf16 weights, logs and
# training record, so the next version can start from it.
keep() {
  mkdir -p "$RESULTS"
  $PY - "$PREVIOUS_TRAINING_JSON" "$RUN-pretrain" > "$RESULTS/$NAME.training.json" <<'PYEOF'
import json, sys
previous = json.load(open(sys.argv[1]))
pre = json.load(open(f"{sys.argv[2]}/hf/training.json"))
total = previous["pretrain_tokens"] + pre["tokens_seen"]  # no fine-tune: everything seen is pretraining
print(json.dumps({"method": "pretraining only (a link of the chain)", "pretrain_tokens": total, "tokens_seen": total,
                  "stage_tokens": pre["tokens_seen"], "step": pre["step"], "val_loss": pre.get("val_loss")}, indent=1))
PYEOF
  keep_logs pretrain
  $PY -m training.bf16_weights "$RUN-pretrain/hf" "training/recipes/$NAME-pretrain"
  cat "$RESULTS/$NAME.training.json"
}

evaluate() {  # the quality numbers of a model card, as JSON in training/results/LABEL.evaluate.json
  local model=${1:?evaluate MODEL_DIR LABEL [CONTEXT]} label=${2:?evaluate MODEL_DIR LABEL [CONTEXT]} context=${3:-1024}
  mkdir -p "$RESULTS"
  $PY -m training.evaluate --model "$model" --val "$CORPUS/val.jsonl" \
    --tasks loss,next-line,next-line-repo,copy,he-single,he-multi --limit 100 --next-line 100 \
    --max-val-tokens 50000 --context "$context" --threads 1 --out "$RESULTS/$label.evaluate.json"
}

common=(--train-data "$WORK/train" --val-data "$WORK/val" --tokenizer "$WORK/tokenizer.json" --batch-size 8
        --checkpoint-minutes 5 --eval-every 100 --val-rows 48 --log-every 5 --seed 0 --resume --threads "$THREADS"
        ${MAX_MINUTES:+--max-minutes "$MAX_MINUTES"})
pretraining=(--init "$INIT" --noise none --lr "$PRETRAIN_LR" --warmup-steps 30 --max-tokens "$PRETRAIN_TOKENS"
             --optimizer "$OPTIMIZER")
finetune=(--init "$RUN-pretrain/hf" --lr "$FINETUNE_LR" --warmup-steps 10 --max-tokens "$FINETUNE_TOKENS" --optimizer "$OPTIMIZER")

case "$step" in
  data) data ;;
  pretrain) data; $PY -m training.train --run-dir "$RUN-pretrain" "${pretraining[@]}" "${common[@]}" "$@" ;;
  arm)
    arm=${1:?arm NAME [ARGS...]}; shift
    need_init; $PY -m training.train --run-dir "$RUN-$arm" "${pretraining[@]}" "${common[@]}" "$@" ;;
  msn) $PY -m training.train --run-dir "$RUN-msn" --noise msn --span-length 5 "${finetune[@]}" "${common[@]}" "$@" ;;
  none) $PY -m training.train --run-dir "$RUN-none" --noise none "${finetune[@]}" "${common[@]}" "$@" ;;
  finalize) finalize "$@" ;;
  keep) keep ;;
  evaluate) evaluate "$@" ;;
  *) echo "usage: $0 VERSION show|data|pretrain|arm NAME|msn|none|finalize [OUT]|keep|evaluate DIR LABEL [CONTEXT]" >&2; exit 2 ;;
esac
