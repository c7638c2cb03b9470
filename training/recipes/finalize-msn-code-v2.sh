#!/usr/bin/env bash
# Ship msn-code-v2: export the MSN arm to model/ (parity-checked), export the no-noise arm beside its
# run for the comparisons, keep the runs' configs and logs, and keep the pretrained weights (bf16) so
# a later session can continue training from them (`--init training/recipes/msn-code-v2-pretrain`).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
RUNS=${RUNS:-training/runs}
FIM_ORDERS=${FIM_ORDERS:-spm,psm}
pre=$RUNS/v2-pretrain; msn=$RUNS/v2-msn; none=$RUNS/v2-none

# msn.json's training record: the whole budget (pretraining + the MSN arm), the data and the layout.
$PY - "$pre" "$msn" > training/recipes/msn-code-v2.training.json <<'PYEOF'
import json, sys
pre, msn = (json.load(open(f"{d}/hf/training.json")) for d in sys.argv[1:3])
print(json.dumps({
    "method": "msn", "msn_span_length": 5, "preset": "5m-mqa",
    "tokens_seen": pre["tokens_seen"] + msn["tokens_seen"],
    "pretrain_tokens": pre["tokens_seen"], "msn_finetune_tokens": msn["tokens_seen"],
    "val_loss": msn.get("val_loss"), "step": msn.get("step"),
    "corpus": "corpus v2: permissive code from npm and Debian, pinned in training/corpus/sources/pinned.tsv; model/SOURCES.tsv",
    "layout": "repo-level (Qwen2.5-Coder tokens), FIM PSM + SPM (0.3 each), plain 0.4", "seq_len": 1024,
}, indent=1))
PYEOF
$PY -m training.export --checkpoint "$msn/hf" --tokenizer "$msn/hf/tokenizer.json" --out model --name msn-code-v2 \
  --fim-orders "$FIM_ORDERS" --training-json training/recipes/msn-code-v2.training.json
$PY -m training.parity --model model --checkpoint "$msn/hf"
$PY -m training.export --checkpoint "$none/hf" --tokenizer "$none/hf/tokenizer.json" --out "$none/onnx" --name msn-code-v2-no-noise \
  --fim-orders "$FIM_ORDERS"
cp training/data/corpus-v2/SOURCES.tsv model/SOURCES.tsv
for run in pretrain msn none; do
  cp "$RUNS/v2-$run/run.json" "training/recipes/msn-code-v2.$run.run.json"
  cp "$RUNS/v2-$run/log.jsonl" "training/recipes/msn-code-v2.$run.log.jsonl"
done
[ -f "$pre/quality.jsonl" ] && cp "$pre/quality.jsonl" training/recipes/msn-code-v2.pretrain.quality.jsonl
# The pretrained weights in bf16 (half the size), loadable with --init (from_pretrained upcasts).
$PY -m training.bf16_weights "$pre/hf" training/recipes/msn-code-v2-pretrain
cat model/msn.json
