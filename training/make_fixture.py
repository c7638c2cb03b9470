"""Build the random-init test model (test/fixtures/tiny-model): real code tokenizer, tiny GQA Llama.

The tokenizer is trained on ~3 MB of the Python standard library (PSF licence) plus mocha's
JavaScript sources (MIT); the weights are random with a fixed seed. Not a useful completion model:
it exists so the engine and tools can be tested against a real msn-onnx/1 directory.

CLI: python -m training.make_fixture --out test/fixtures/tiny-model
"""

from __future__ import annotations

import argparse
import sys
import sysconfig
from pathlib import Path
from typing import Sequence

import torch
from training.code_model import CodeModel
from training.export import export_model_dir
from training.model_config import make_config
from training.parity import ContractSession, check_parity, torch_causal_reference
from training.tokenizer import iter_source_files, read_texts, train_tokenizer

SEED = 20240604
VOCAB_SIZE = 1024
TOKENIZER_BYTES = 3_000_000
REPO_ROOT = Path(__file__).resolve().parent.parent

CARD = """# tiny-model (test fixture)

**Random-init weights, for tests only.** It produces meaningless completions; it exists so the
decoding engine, the tools and the tests run against a real `msn-onnx/1` model directory.

- Model: Llama, {layers} layers, hidden {hidden}, {heads} attention heads, {kv_heads} kv heads
  (grouped-query, so kv heads != heads is exercised), vocab {vocab}, {parameters:,} parameters,
  tied embeddings, weights drawn with seed {seed} (`torch.manual_seed`).
- Tokenizer: byte-level BPE, vocab {vocab}, trained on ~3 MB of the Python {python} standard library
  (Python Software Foundation License) and the JavaScript sources of mocha (MIT). Special tokens
  `<|endoftext|>` (id 0), `<|fim_prefix|>`, `<|fim_suffix|>`, `<|fim_middle|>`, `<|fim_pad|>`, `<|repo_name|>`, `<|file_sep|>`.
- Training: none (`"method": "random-init"` in msn.json).
- Reproduce: `.venv/bin/python -m training.make_fixture --out test/fixtures/tiny-model`
- Parity of the exported graph with the PyTorch model (KV-cached prefill and a 10-node tree):
  max abs logit difference {parity:.1e}.
"""


def tokenizer_sources() -> list[Path]:
    """Python stdlib modules (top level and packages, no tests or site-packages) and mocha's JS."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    python_files = [
        path for path in iter_source_files([stdlib], (".py",))
        if not {"site-packages", "test", "tests", "idle_test", "lib2to3"} & set(path.relative_to(stdlib).parts)
    ]
    js_files = list(iter_source_files([REPO_ROOT / "node_modules" / "mocha" / "lib"], (".js",)))
    # JavaScript first: the byte budget then always includes it.
    return js_files + python_files


def build_fixture(out_dir: Path) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tokenizer(read_texts(tokenizer_sources(), TOKENIZER_BYTES), VOCAB_SIZE)
    tokenizer_path = out_dir / "tokenizer.json"
    tokenizer.save(str(tokenizer_path))

    torch.manual_seed(SEED)
    model = CodeModel(make_config("fixture", vocab_size=tokenizer.get_vocab_size())).eval()
    training = {"method": "random-init", "msn_span_length": 0, "tokens_seen": 0, "corpus": "none", "seed": SEED}
    card = out_dir / "MODEL_CARD.md"
    card.unlink(missing_ok=True)
    msn = export_model_dir(model, tokenizer_path, out_dir, "msn-tiny-random-fixture", training)

    parity = check_parity(ContractSession(out_dir), torch_causal_reference(model))
    worst = max(parity.values())
    if not worst < 1e-4:
        raise RuntimeError(f"fixture parity failed: {parity}")
    card.write_text(CARD.format(
        layers=msn["num_layers"], hidden=msn["hidden_size"], heads=msn["num_attention_heads"],
        kv_heads=msn["num_kv_heads"], vocab=msn["vocab_size"], parameters=msn["parameters"], seed=SEED,
        python=f"{sys.version_info.major}.{sys.version_info.minor}", parity=worst,
    ))
    return {"msn": msn, "parity": parity}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "test" / "fixtures" / "tiny-model")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    result = build_fixture(args.out)
    size = sum(path.stat().st_size for path in args.out.iterdir())
    print(f"wrote {args.out}: {result['msn']['parameters']:,} parameters, {size:,} bytes in all")
    print("parity (max abs diff):", {name: f"{diff:.2e}" for name, diff in result["parity"].items()})


if __name__ == "__main__":
    main()
