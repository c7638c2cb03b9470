#!/usr/bin/env bash
# Export msn-code-v4 (the MSN fine-tune of training/recipes/msn-code-v4.sh) to an msn-onnx/1 folder,
# parity-checked against PyTorch, keep the runs' configs and logs, and keep the pretrained weights in
# bf16 so a later session can train on (`--init training/recipes/msn-code-v4-pretrain`).
#   bash training/recipes/finalize-msn-code-v4.sh [OUT]     # OUT: the model folder (default model/)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
RUNS=${RUNS:-training/runs}
OUT=${1:-model}
FIM_ORDERS=${FIM_ORDERS:-spm,psm}
pre=$RUNS/v4-pretrain; msn=$RUNS/v4-msn

# msn.json's training record: the whole budget (v2's and v3's pretraining, v4's, the MSN fine-tune).
$PY - training/recipes/msn-code-v3.training.json "$pre" "$msn" > training/recipes/msn-code-v4.training.json <<'PYEOF'
import json, sys
v3 = json.load(open(sys.argv[1]))  # msn-code-v3's record: its pretraining chain is where v4 starts
pre, msn = (json.load(open(f"{d}/hf/training.json")) for d in sys.argv[2:4])
print(json.dumps({
    "method": "msn", "msn_span_length": 5, "preset": "5m-mqa",
    "tokens_seen": v3["pretrain_tokens"] + pre["tokens_seen"] + msn["tokens_seen"],
    "pretrain_tokens": v3["pretrain_tokens"] + pre["tokens_seen"], "msn_finetune_tokens": msn["tokens_seen"],
    "val_loss": msn.get("val_loss"), "step": msn.get("step"),
    "corpus": "corpus v2: permissive code from npm and Debian, pinned in training/corpus/sources/pinned.tsv; model/SOURCES.tsv",
    "layout": "repo-level (Qwen2.5-Coder tokens), FIM PSM + SPM (0.3 each), plain 0.4; editor-like cursor splits (a quarter at a line end), near copies in 30% of contexts",
    "seq_len": 1024,
}, indent=1))
PYEOF
$PY -m training.export --checkpoint "$msn/hf" --tokenizer "$msn/hf/tokenizer.json" --out "$OUT" --name msn-code-v4 \
  --fim-orders "$FIM_ORDERS" --training-json training/recipes/msn-code-v4.training.json
$PY -m training.parity --model "$OUT" --checkpoint "$msn/hf"
cp training/data/corpus-v2/SOURCES.tsv "$OUT/SOURCES.tsv"
for run in pretrain msn none; do
  [ -f "$RUNS/v4-$run/run.json" ] || continue  # the no-noise arm is optional
  cp "$RUNS/v4-$run/run.json" "training/recipes/msn-code-v4.$run.run.json"
  cp "$RUNS/v4-$run/log.jsonl" "training/recipes/msn-code-v4.$run.log.jsonl"
done
# The pretrained weights in bf16 (half the size), loadable with --init (from_pretrained upcasts).
$PY -m training.bf16_weights "$pre/hf" training/recipes/msn-code-v4-pretrain
cat "$OUT/msn.json"
