"""Save a Hugging Face folder's weights in bf16 (half the size) with its tokenizer.json and
training.json: a small committed checkpoint a later session continues from (`--init`; from_pretrained
upcasts). CLI: python -m training.bf16_weights SOURCE_HF_DIR TARGET_DIR"""

import shutil
import sys
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM


def save_bf16(source: Path, target: Path) -> None:
    model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32)
    model.to(torch.bfloat16).save_pretrained(target)
    for name in ("tokenizer.json", "training.json"):
        shutil.copyfile(source / name, target / name)
    print(f"wrote {target}")


if __name__ == "__main__":
    save_bf16(Path(sys.argv[1]), Path(sys.argv[2]))
