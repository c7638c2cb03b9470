"""Shared fixtures for the training-pipeline tests: one thread, a small tokenizer, tiny random models."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import torch  # noqa: E402

torch.set_num_threads(1)

FIXTURE_DIR = REPO_ROOT / "test" / "fixtures" / "tiny-model"

SAMPLE_CODE = [
    "def add(a, b):\n    return a + b\n\n\nclass Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n",
    "import os\nimport sys\n\nfor name in sorted(os.listdir('.')):\n    if name.endswith('.py'):\n        print(name)\n",
    "function greet(name) {\n  return `Hello, ${name}!`;\n}\n\nconst items = [1, 2, 3].map((x) => x * 2);\n",
    "export interface Options {\n  readonly threads: number;\n  verbose?: boolean;\n}\n",
    "if __name__ == '__main__':\n\tmain()\r\n# tabs and CRLF\r\n",
]


@pytest.fixture(scope="session")
def fixture_dir() -> Path:
    """The committed random-init msn-onnx/1 model directory."""
    return FIXTURE_DIR


@pytest.fixture(scope="session")
def sample_code() -> list[str]:
    return list(SAMPLE_CODE)


@pytest.fixture(scope="session")
def code_texts() -> list[str]:
    """A small, varied code corpus (repeated so BPE merges have counts)."""
    return SAMPLE_CODE * 20


@pytest.fixture(scope="session")
def small_tokenizer(code_texts):
    from training.tokenizer import train_tokenizer

    return train_tokenizer(code_texts, vocab_size=400)


@pytest.fixture(scope="session")
def small_tokenizer_path(small_tokenizer, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tokenizer") / "tokenizer.json"
    small_tokenizer.save(str(path))
    return path


def assert_new_rows_are_the_model_cache(out_dir, model, msn, tolerance: float) -> None:
    """The exported graph's new_key_values (rotary applied to keys) equal the PyTorch model's cache rows
    (this project's model: its KVCache; a Hugging Face model: the transformers cache)."""
    import numpy as np

    from training.code_model import CodeModel
    from training.parity import ContractSession, causal_mask

    session = ContractSession(out_dir)
    tokens = [5, 17, 42, 99, 7, 300]
    _, keys, values = session.run(tokens, range(len(tokens)), causal_mask(0, len(tokens)), session.empty_cache())
    with torch.no_grad():
        if isinstance(model, CodeModel):
            cache = model.extend(tokens)[1]
            rows = [(cache.keys[i][0], cache.values[i][0]) for i in range(msn["num_layers"])]  # [T, kv, dim]
        else:
            cache = model(torch.tensor([tokens]), use_cache=True).cache
            rows = [(cache.layers[i].keys[0].permute(1, 0, 2), cache.layers[i].values[0].permute(1, 0, 2))
                    for i in range(msn["num_layers"])]
    for layer, (model_keys, model_values) in enumerate(rows):
        hf_keys, hf_values = model_keys.numpy(), model_values.numpy()
        assert keys[layer].shape == (1, len(tokens), msn["num_kv_heads"], msn["head_dim"])
        assert np.abs(keys[layer][0] - hf_keys).max() < tolerance
        assert np.abs(values[layer][0] - hf_values).max() < tolerance
