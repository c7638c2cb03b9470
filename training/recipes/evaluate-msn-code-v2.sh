#!/usr/bin/env bash
# msn-code-v2's quality numbers (its MODEL_CARD.md): training/recipes/evaluate.sh into msn-code-v2.results/.
#   bash training/recipes/evaluate-msn-code-v2.sh MODEL_DIR NAME [CONTEXT]
exec bash "$(dirname "$0")/evaluate.sh" "$1" "$2" training/recipes/msn-code-v2.results "${3:-1024}"
