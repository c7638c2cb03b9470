#!/usr/bin/env bash
# Export msn-code-v3 (the MSN fine-tune of training/recipes/msn-code-v3.sh) to an msn-onnx/1 folder,
# parity-checked against PyTorch, keep the runs' configs and logs, and keep the pretrained weights in
# bf16 so a later session can train on (`--init training/recipes/msn-code-v3-pretrain`).
#   bash training/recipes/finalize-msn-code-v3.sh [OUT]     # OUT: the model folder (default model/)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
RUNS=${RUNS:-training/runs}
OUT=${1:-model}
FIM_ORDERS=${FIM_ORDERS:-spm,psm}
pre=$RUNS/v3-pretrain; msn=$RUNS/v3-msn

# msn.json's training record: the whole budget (v2's pretraining, v3's, the MSN fine-tune).
$PY - training/recipes/msn-code-v2-pretrain "$pre" "$msn" > training/recipes/msn-code-v3.training.json <<'PYEOF'
import json, sys
v2, pre, msn = (json.load(open(f"{d}/training.json" if "recipes" in d else f"{d}/hf/training.json")) for d in sys.argv[1:4])
print(json.dumps({
    "method": "msn", "msn_span_length": 5, "preset": "5m-mqa",
    "tokens_seen": v2["tokens_seen"] + pre["tokens_seen"] + msn["tokens_seen"],
    "pretrain_tokens": v2["tokens_seen"] + pre["tokens_seen"], "msn_finetune_tokens": msn["tokens_seen"],
    "val_loss": msn.get("val_loss"), "step": msn.get("step"),
    "corpus": "corpus v2: permissive code from npm and Debian, pinned in training/corpus/sources/pinned.tsv; model/SOURCES.tsv",
    "layout": "repo-level (Qwen2.5-Coder tokens), FIM PSM + SPM (0.3 each), plain 0.4; editor-like cursor splits",
    "seq_len": 1024,
}, indent=1))
PYEOF
$PY -m training.export --checkpoint "$msn/hf" --tokenizer "$msn/hf/tokenizer.json" --out "$OUT" --name msn-code-v3 \
  --fim-orders "$FIM_ORDERS" --training-json training/recipes/msn-code-v3.training.json
$PY -m training.parity --model "$OUT" --checkpoint "$msn/hf"
cp training/data/corpus-v2/SOURCES.tsv "$OUT/SOURCES.tsv"
for run in pretrain msn; do
  cp "$RUNS/v3-$run/run.json" "training/recipes/msn-code-v3.$run.run.json"
  cp "$RUNS/v3-$run/log.jsonl" "training/recipes/msn-code-v3.$run.log.jsonl"
done
# The pretrained weights in bf16 (half the size), loadable with --init (from_pretrained upcasts).
$PY -m training.bf16_weights "$pre/hf" training/recipes/msn-code-v3-pretrain
cat "$OUT/msn.json"
