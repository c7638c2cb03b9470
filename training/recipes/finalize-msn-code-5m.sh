#!/usr/bin/env bash
# Stop the shipped run (it checkpoints on SIGTERM), export it to model/, check parity, keep its config.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUN=${RUN:-training/runs/msn-code-5m}
pid=$(pgrep -f -- "training.train --run-dir $RUN " || true)
if [ -n "$pid" ]; then
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 2; done
fi
.venv/bin/python -m training.export --checkpoint "$RUN/hf" --tokenizer "$RUN/hf/tokenizer.json" --out model \
  --name msn-code-5m --training-json training/recipes/msn-code-5m.training.json
.venv/bin/python -m training.parity --model model --checkpoint "$RUN/hf"
cp "$RUN/run.json" training/recipes/msn-code-5m.run.json
cp "$RUN/log.jsonl" training/recipes/msn-code-5m.log.jsonl
cat model/msn.json
