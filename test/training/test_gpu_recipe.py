"""The GPU recipe end to end in its tiny CPU mode: pack (compressed, within the carry limit), repo-level
packing on every core, training, bf16 weight shards within the result limit, and a CPU-side export."""

import json
from pathlib import Path

from training.export import main as export_main
from training.gpu import CARRY_LIMIT_BYTES, pack, train_carried

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_gpu_recipe_tiny_mode(tmp_path, fixture_dir):
    records = []
    for index, file in enumerate(sorted((REPO_ROOT / "test" / "fixtures" / "sample-workspace").rglob("*.py"))):
        records.append({"text": file.read_text(), "path": file.name, "package": f"pkg{index % 2}", "language": "python"})
    corpus = tmp_path / "train.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in records * 20))
    carry = tmp_path / "carry"
    meta = pack(corpus, fixture_dir / "tokenizer.json", carry, max_mb=5)
    assert (carry / "corpus.jsonl.xz").stat().st_size <= CARRY_LIMIT_BYTES and meta["text_mb"] > 0
    weights = train_carried(carry, tmp_path / "out", minutes=2, tiny=True)
    shards = list(weights.glob("*.safetensors"))
    assert shards and all(shard.stat().st_size <= 16 * 2**20 for shard in shards)
    assert json.loads((weights / "training.json").read_text())["step"] == 20
    assert not (tmp_path / "out" / "data").exists(), "only the weights come back"
    export_main(["--checkpoint", str(weights), "--tokenizer", str(weights / "tokenizer.json"), "--out", str(tmp_path / "model"),
                 "--name", "gpu-tiny"])
    assert json.loads((tmp_path / "model" / "msn.json").read_text())["format"] == "msn-onnx/1"
