"""What the engine's steps cost at a real model size: Qwen2.5-Coder-0.5B's exact shape, random weights.

Builds a random-initialised Qwen2ForCausalLM with Qwen2.5-Coder-0.5B's config (24 layers, hidden 896,
FFN 4864, 14 query heads, 2 KV heads, vocab 151,936, tied embeddings, rope theta 1e6), exports it with
`training.export` as float32, int8 and int4 (`--quantize`), copies the float32 one with its weights in
model.onnx.data (`fp32-ext`: the layout the exporter writes above 2 GiB; this shape's float graph, the
tied embedding stored once, is 1.98 GB, so the exporter itself writes one file), and runs
`npm run profile` on each: the raw forward pass at q = 1 ... 64 at several past lengths, a whole plain
greedy (`ar`) step of the engine, its start-up calibration, load time and memory.
Nothing is downloaded: the weights are random, so only speed and memory mean anything, not what the
model writes.

The tokenizer is Qwen2's byte-level BPE as llama.cpp ships it (`.cache/tokenizer-vectors/qwen2`, made
by `python -m training.tokenizer_vectors`, which scripts/setup.sh runs), already padded to 151,936 ids,
with Qwen2.5-Coder's FIM and repo-level tokens written in at their ids (QWEN25_CODER_TOKENS), so prompts
tokenize as they would for the real model.

Every step is skipped when its result exists (rerun to resume); the 2 GB checkpoint is deleted after
the exports unless --keep-checkpoint. On a 2-core VM with the other core busy, one thread: about
10 minutes for the exports and 15-25 minutes per profiled variant (see docs/decoding.md).

CLI: nice -n 10 python -m training.real_size_probe --out DIR [--variants fp32,fp32-ext,int8,int4] [--max-positions 4096]
         [--past 0,512,2000] [--q 1,2,4,8,16,32,64] [--steps 16] [--threads 1] [--keep-checkpoint]
     python -m training.real_size_probe --kernels   # one MatMul's CPU kernels by q, in seconds
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

REPO = Path(__file__).resolve().parents[1]
BASE_TOKENIZER = REPO / ".cache" / "tokenizer-vectors" / "qwen2" / "tokenizer.json"

# Qwen2.5-Coder-0.5B's config.json, less what only training or generation reads.
QWEN25_CODER_05B = dict(
    hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2,
    vocab_size=151_936, tie_word_embeddings=True, rope_theta=1_000_000.0, max_position_embeddings=32_768,
    rms_norm_eps=1e-6, hidden_act="silu", use_sliding_window=False, max_window_layers=24,
    bos_token_id=151_643, eos_token_id=151_643,
)
# The added tokens of Qwen2.5-Coder's tokenizer that the exporter and the engine use (its tokenizer_config.json).
QWEN25_CODER_TOKENS = {
    151_659: "<|fim_prefix|>", 151_660: "<|fim_middle|>", 151_661: "<|fim_suffix|>", 151_662: "<|fim_pad|>",
    151_663: "<|repo_name|>", 151_664: "<|file_sep|>",
}
VARIANTS = {"fp32": "none", "int8": "int8", "int4": "int4"}  # folder name -> --quantize
# fp32 re-saved with its weights in model.onnx.data, the layout the exporter writes above protobuf's 2 GiB:
# this shape's float graph is 1.98 GB (the tied embedding stored once), so the exporter keeps one file.
EXTERNAL = "fp32-ext"


def build_random_model(shape: dict | None = None, seed: int = 0):
    """A random-initialised Qwen2ForCausalLM of `shape` (default Qwen2.5-Coder-0.5B's), float32, eval mode."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    config = Qwen2Config(**(shape or QWEN25_CODER_05B))
    config.architectures = ["Qwen2ForCausalLM"]
    return Qwen2ForCausalLM(config).float().eval()


def with_fim_tokens(tokenizer: dict, tokens: dict[int, str] = QWEN25_CODER_TOKENS) -> dict:
    """`tokenizer` with each id's added token (a padding entry in llama.cpp's Qwen2 vocabulary) renamed to
    `tokens[id]` and marked special, in the added tokens and in the BPE vocabulary alike."""
    tokenizer = json.loads(json.dumps(tokenizer))
    by_id = {added["id"]: added for added in tokenizer["added_tokens"]}
    vocab = tokenizer["model"]["vocab"]
    spelled = {index: token for token, index in vocab.items()}
    for index, content in tokens.items():
        if index not in by_id:
            raise ValueError(f"the tokenizer has no added token with id {index} to name {content}")
        vocab.pop(spelled.get(index, ""), None)
        vocab[content] = index
        by_id[index].update(content=content, special=True)
    return tokenizer


def write_tokenizer(out: Path, base: Path = BASE_TOKENIZER) -> Path:
    if not base.is_file():
        raise SystemExit(f"{base} is missing: run `.venv/bin/python -m training.tokenizer_vectors` (scripts/setup.sh does)")
    path = out / "tokenizer.json"
    path.write_text(json.dumps(with_fim_tokens(json.loads(base.read_text(encoding="utf-8"))), ensure_ascii=False), encoding="utf-8")
    return path


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(command: Sequence[str], threads: int) -> None:
    """Run a step with `threads` threads for torch and onnxruntime's Python side (and this process's priority)."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    started = time.monotonic()
    subprocess.run(command, cwd=REPO, env=env, check=True)
    log(f"  {time.monotonic() - started:.0f} s: {' '.join(command)}")


def external_data_copy(source: Path, target: Path) -> None:
    """`source` model folder copied to `target` with the graph's weights moved to model.onnx.data."""
    import onnx

    from training.export import EXTERNAL_DATA

    target.mkdir(parents=True, exist_ok=True)
    for name in ("tokenizer.json", "MODEL_CARD.md"):
        shutil.copyfile(source / name, target / name)
    (target / EXTERNAL_DATA).unlink(missing_ok=True)  # onnx appends to an existing data file
    onnx.save(onnx.load(str(source / "model.onnx")), str(target / "model.onnx"), save_as_external_data=True,
              all_tensors_to_one_file=True, location=EXTERNAL_DATA, size_threshold=1024)
    msn = json.loads((source / "msn.json").read_text())
    msn["name"] = f"{msn['name']}-external-data"
    (target / "msn.json").write_text(json.dumps(msn, indent=2) + "\n")  # last: its presence marks the copy done


def folder_bytes(folder: Path) -> dict[str, int]:
    return {file.name: file.stat().st_size for file in sorted(folder.iterdir()) if file.name.startswith("model.onnx")}


def export_variants(out: Path, variants: Sequence[str], max_positions: int, threads: int, keep_checkpoint: bool) -> None:
    checkpoint = out / "hf"
    todo = [name for name in variants if not (out / name / "msn.json").is_file()]
    if EXTERNAL in todo:
        todo.remove(EXTERNAL)
        if not (out / "fp32" / "msn.json").is_file() and "fp32" not in todo:
            todo.insert(0, "fp32")
    if todo:
        export_from_checkpoint(out, checkpoint, todo, max_positions, threads, keep_checkpoint)
    if EXTERNAL in variants and not (out / EXTERNAL / "msn.json").is_file():
        log(f"copying fp32 to {EXTERNAL} with its weights in model.onnx.data")
        external_data_copy(out / "fp32", out / EXTERNAL)


def export_from_checkpoint(out: Path, checkpoint: Path, todo: Sequence[str], max_positions: int, threads: int,
                           keep_checkpoint: bool) -> None:
    tokenizer = write_tokenizer(out)
    if not (checkpoint / "config.json").is_file():
        import torch

        torch.set_num_threads(threads)
        log("building the random Qwen2.5-Coder-0.5B-shaped model")
        model = build_random_model()
        model.save_pretrained(checkpoint)
        del model
    for name in todo:
        log(f"exporting {name}")
        run([sys.executable, "-m", "training.export", "--checkpoint", str(checkpoint), "--tokenizer", str(tokenizer),
             "--out", str(out / name), "--name", f"qwen2.5-coder-0.5b-shape-random-{name}",
             "--max-positions", str(max_positions), "--quantize", VARIANTS[name]], threads)
    if not keep_checkpoint:
        shutil.rmtree(checkpoint)


def profile(out: Path, name: str, pasts: str, qs: str, steps: int, threads: int) -> dict:
    report = out / f"profile-{name}.json"
    if not report.is_file():
        log(f"profiling {name}")
        run(["node", "dist/cli/profile.js", "--model", str(out / name), "--past", pasts, "--q", qs,
             "--steps", str(steps), "--threads", str(threads), "--json", str(report)], threads)
    return json.loads(report.read_text())


def kernel_timings(threads: int = 1, k: int = 896, n: int = 4864, repeats: int = 20) -> list[tuple[str, dict[int, float]]]:
    """Median ms of one [m, k] x [k, n] MatMul (this shape's FFN up projection) as float32 and as the
    MatMulNBits the exporter writes (accuracy level unset), and at accuracy level 4 (int8 activations),
    by m = the q of a pass. In Python's onnxruntime, which uses the same CPU kernels as onnxruntime-node."""
    import logging

    import numpy as np
    import onnx
    import onnxruntime
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    from training.quantize import BLOCK_SIZE

    logging.getLogger("onnxruntime.quantization").setLevel(logging.WARNING)
    weight = np.random.default_rng(0).normal(0, 0.02, (k, n)).astype(np.float32)
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "matmul",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["m", k])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["m", n])], [numpy_helper.from_array(weight, "w")])
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    results = []
    for label, bits, accuracy in (("float32", 0, None), ("int8", 8, None), ("int8, accuracy 4", 8, 4),
                                  ("int4", 4, None), ("int4, accuracy 4", 4, 4)):
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        if bits:
            quantizer = MatMulNBitsQuantizer(model, bits=bits, block_size=BLOCK_SIZE, is_symmetric=True, accuracy_level=accuracy)
            quantizer.process()
            model = quantizer.model.model
        session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        timings = {}
        for m in (1, 2, 16, 64):
            x = np.ones((m, k), np.float32)
            for _ in range(3):
                session.run(None, {"x": x})
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                session.run(None, {"x": x})
                times.append(1000 * (time.perf_counter() - started))
            timings[m] = float(np.median(times))
        results.append((label, timings))
    return results


def markdown_table(out: Path, reports: dict[str, dict]) -> str:
    """One row per (variant, past): the ar step, the raw pass by q (median ms, its ratio to q=1), the
    fastest q=1 and q=16 passes (the least disturbed by other processes), file size, load time (the
    start-up calibration included unless it was cached) and memory."""
    qs = sorted({int(q) for report in reports.values() for row in report["pasts"] for q in row["rawMs"]})
    header = ["variant", "files MiB", "load s", "RSS MiB (peak)", "past", "ar step ms (tok/s)", *[f"q={q} ms" for q in qs],
              "best q=1 / q=16 ms (ratio)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, report in reports.items():
        size = sum(folder_bytes(out / name).values()) / 2**20
        for row in report["pasts"]:
            raw = {int(q): ms for q, ms in row["rawMs"].items()}
            best = {int(q): ms for q, ms in row["rawBestMs"].items()}
            cells = [name, f"{size:,.0f}", f"{report['loadMs'] / 1000:.0f}", f"{report['rssAfterLoadMiB']:,} ({report['peakRssMiB']:,})", str(row["past"]),
                     f"{row['arStepMs']:.0f} ({1000 / row['arStepMs']:.1f})",
                     *[f"{raw[q]:.0f}" + ("" if q == 1 else f" ({raw[q] / raw[1]:.2f}x)") for q in qs],
                     f"{best[1]:.0f} / {best[16]:.0f} ({best[16] / best[1]:.2f}x)"]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help="folder for the checkpoint, the exports and the reports (GBs)")
    parser.add_argument("--variants", default=f"fp32,{EXTERNAL},int8,int4")
    parser.add_argument("--max-positions", type=int, default=4096, help="positions the exports declare (the KV cache's size)")
    parser.add_argument("--past", default="0,512,2000")
    parser.add_argument("--q", default="1,2,4,8,16,32,64")
    parser.add_argument("--steps", type=int, default=16, help="passes per median")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--keep-checkpoint", action="store_true", help="keep OUT/hf (2 GB) after the exports")
    parser.add_argument("--kernels", action="store_true",
                        help="only time one 896x4864 MatMul as float32 and MatMulNBits (int8, int4, accuracy levels unset and 4)")
    args = parser.parse_args(argv)
    if args.kernels:
        for label, timings in kernel_timings(args.threads):
            print(f"{label:18} " + "  ".join(f"m={m}: {ms:.3f} ms" for m, ms in timings.items()))
        return
    if args.out is None:
        parser.error("--out is required")
    variants = args.variants.split(",")
    unknown = [name for name in variants if name not in (*VARIANTS, EXTERNAL)]
    if unknown:
        parser.error(f"unknown variants {unknown} (known: {', '.join(VARIANTS)}, {EXTERNAL})")

    args.out.mkdir(parents=True, exist_ok=True)
    export_variants(args.out, variants, args.max_positions, args.threads, args.keep_checkpoint)
    run(["node", "esbuild.mjs"], args.threads)
    reports = {name: profile(args.out, name, args.past, args.q, args.steps, args.threads) for name in variants}
    for name in variants:
        print(f"{name}: " + ", ".join(f"{file} {size:,} B" for file, size in folder_bytes(args.out / name).items()))
    print(markdown_table(args.out, reports))


if __name__ == "__main__":
    main()
