"""Export a local Llama, Qwen2 or Starcoder2 checkpoint to the msn-onnx/1 model-directory contract.

The graph takes the new q tokens with explicit position ids and an additive [1,1,q,past+q] mask,
attends over the sequence-major past rows plus the new rows, and returns the logits and ONLY the new
rows' keys (rotary applied) and values. See docs/model-contract.md. The graph is the cache path of the
layers of training/code_model.py, traced: a checkpoint of this project's model shape is loaded as that model,
any other as its own architecture, whose layers' modules the same layer code runs; what cannot be reproduced
exactly is refused (training/architectures.py). msn.json's prompt block comes from the tokenizer's FIM tokens
(training/prompt_formats.py).

CLI: python -m training.export --checkpoint HF_DIR --tokenizer tokenizer.json --out DIR
                               [--name NAME] [--training-json FILE] [--fim-orders spm,psm]
                               [--fim-tokens P,S,M,EOT] [--max-positions N] [--quantize none|int8|int4]
"""

from __future__ import annotations

import argparse
import json
import shutil
import warnings
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from training.architectures import UnsupportedModelError, check_architecture, check_exportable, load_causal_lm
from training.code_model import CodeModel, DecoderLayer, head_dim_of, rotary
from training.contract import FORMAT, MASK_VALUE
from training.model_config import count_parameters
from training.prompt_formats import (
    PromptFamily,
    PromptFormatError,
    build_prompt_block,
    custom_family,
    detect_family,
    token_id,
)
from training.quantize import QUANTIZE_MODES, check_quantizable, check_quantized_size, quantize_file, weights_label

OPSET = 17
EXTERNAL_DATA = "model.onnx.data"  # weights beside the graph when they exceed protobuf's 2 GB


class ContractModel(nn.Module):
    """msn-onnx/1 forward over the weights of this project's model (training/code_model.py) or of a supported
    HF causal LM (see training/architectures.py): the layers' cache path, batch 1.

    Tied embeddings are held once, transposed ([hidden, vocab]): the lookup gathers columns and the
    output projection is a plain MatMul, so the exported file stores the matrix only once.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        config = model.config
        check_architecture(config, architecture_name(model))
        if getattr(model, "prev_token_path", False):
            # The msn-onnx/1 graph has no previous-token input yet: exporting would silently drop the path's W.
            raise UnsupportedModelError("it has a previous-token path, which the msn-onnx/1 export does not carry")
        self.num_heads = config.num_attention_heads
        self.num_kv_heads = config.num_key_value_heads
        self.head_dim = head_dim_of(config)
        inner = model.model
        if isinstance(model, CodeModel):
            self.layers = inner.layers
            inv_freq, self.rope_scale = model.inv_freq, 1.0
        else:
            self.layers = nn.ModuleList(
                DecoderLayer.reusing(layer, self.num_heads, self.num_kv_heads, self.head_dim) for layer in inner.layers
            )
            inv_freq, self.rope_scale = inner.rotary_emb.inv_freq, float(inner.rotary_emb.attention_scaling)
        self.norm = inner.norm
        if inv_freq.numel() * 2 != self.head_dim:
            # Partial rotary (only some dimensions rotated) would need a split the graph does not make.
            raise UnsupportedModelError(
                f"{architecture_name(model)}: rotary embedding covers {inv_freq.numel() * 2} of {self.head_dim} head dimensions")
        self.register_buffer("inv_freq", inv_freq.detach().float().clone(), persistent=False)

        embed_weight = inner.embed_tokens.weight
        self.tied = model.lm_head.weight is embed_weight or torch.equal(model.lm_head.weight, embed_weight)
        if self.tied:
            self.embedding_t = nn.Parameter(embed_weight.detach().t().contiguous())
        else:
            self.embedding = nn.Parameter(embed_weight.detach().clone())
            self.output_t = nn.Parameter(model.lm_head.weight.detach().t().contiguous())
        self.output_bias = None
        if getattr(model.lm_head, "bias", None) is not None:
            self.output_bias = nn.Parameter(model.lm_head.bias.detach().clone())

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        if self.tied:
            return torch.index_select(self.embedding_t, 1, input_ids.reshape(-1)).t().unsqueeze(0)
        return nn.functional.embedding(input_ids, self.embedding)

    def project_out(self, hidden: torch.Tensor) -> torch.Tensor:
        logits = torch.matmul(hidden, self.embedding_t if self.tied else self.output_t)
        return logits if self.output_bias is None else logits + self.output_bias

    def forward(self, input_ids, position_ids, attention_mask, *past_key_values):
        cos, sin = rotary(position_ids, self.inv_freq, self.rope_scale)
        hidden = self.embed(input_ids)
        new_key_values = []
        for index, layer in enumerate(self.layers):
            hidden, key, value = layer(
                hidden, cos, sin, attention_mask, past_key_values[2 * index], past_key_values[2 * index + 1]
            )
            new_key_values += [key, value]
        logits = self.project_out(self.norm(hidden))
        return (logits, *new_key_values)


def architecture_name(model: nn.Module) -> str:
    """The HF class a model is, or reads as (this project's model is a LlamaForCausalLM on disk)."""
    return "LlamaForCausalLM" if isinstance(model, CodeModel) else type(model).__name__


def input_names(num_layers: int) -> list[str]:
    names = ["input_ids", "position_ids", "attention_mask"]
    for i in range(num_layers):
        names += [f"past_key_values.{i}.key", f"past_key_values.{i}.value"]
    return names


def output_names(num_layers: int) -> list[str]:
    names = ["logits"]
    for i in range(num_layers):
        names += [f"new_key_values.{i}.key", f"new_key_values.{i}.value"]
    return names


def example_inputs(wrapper: ContractModel, q: int = 3, past: int = 2) -> tuple[torch.Tensor, ...]:
    num_layers = len(wrapper.layers)
    cache = [torch.zeros(1, past, wrapper.num_kv_heads, wrapper.head_dim) for _ in range(2 * num_layers)]
    return (
        torch.zeros(1, q, dtype=torch.long),
        torch.arange(past, past + q).unsqueeze(0),
        torch.zeros(1, 1, q, past + q),
        *cache,
    )


def export_onnx(model: nn.Module, onnx_path: Path) -> ContractModel:
    """Write the contract graph of `model` (float32) to `onnx_path`; returns the wrapper used."""
    model = model.float().eval()
    wrapper = ContractModel(model).eval()
    num_layers = len(wrapper.layers)
    dynamic_axes = {"input_ids": {1: "q"}, "position_ids": {1: "q"}, "attention_mask": {2: "q", 3: "total"}, "logits": {1: "q"}}
    for i in range(num_layers):
        dynamic_axes[f"past_key_values.{i}.key"] = {1: "past"}
        dynamic_axes[f"past_key_values.{i}.value"] = {1: "past"}
        dynamic_axes[f"new_key_values.{i}.key"] = {1: "q"}
        dynamic_axes[f"new_key_values.{i}.value"] = {1: "q"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer warnings
        torch.onnx.export(
            wrapper,
            example_inputs(wrapper),
            str(onnx_path),
            dynamo=False,  # the TorchScript exporter handles past=0 with plain dynamic axes
            input_names=input_names(num_layers),
            output_names=output_names(num_layers),
            dynamic_axes=dynamic_axes,
            opset_version=OPSET,
            do_constant_folding=True,
        )
    declare_batch_of_one(onnx_path)
    return wrapper


def declare_batch_of_one(onnx_path: Path) -> None:
    """Name the batch axis of every input and output 1 (shape inference leaves some outputs' symbolic).

    Above 2 GB of weights torch writes one file per tensor beside the graph; those are gathered into
    a single model.onnx.data (onnxruntime resolves it relative to model.onnx).
    """
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    for value in list(model.graph.input) + list(model.graph.output):
        batch = value.type.tensor_type.shape.dim[0]
        if batch.dim_value != 1:
            batch.dim_value = 1
    tensor_files = external_files(model)
    if not tensor_files:
        onnx.save(model, str(onnx_path))
        return
    gather_external_data(model, onnx_path, tensor_files)


def external_files(model) -> set[str]:
    """Relative paths of the files the graph's initializers keep their data in."""
    from onnx.external_data_helper import uses_external_data

    files = set()
    for tensor in model.graph.initializer:
        if uses_external_data(tensor):
            files.update(entry.value for entry in tensor.external_data if entry.key == "location")
    return files


def gather_external_data(model, onnx_path: Path, tensor_files: set[str]) -> None:
    """Rewrite a graph whose weights sit in many files as model.onnx + one model.onnx.data."""
    import onnx
    from onnx.external_data_helper import load_external_data_for_model

    base = onnx_path.parent
    load_external_data_for_model(model, str(base))  # into memory, so the files can go
    (base / EXTERNAL_DATA).unlink(missing_ok=True)  # onnx appends to an existing data file
    onnx.save(model, str(onnx_path), save_as_external_data=True, all_tensors_to_one_file=True,
              location=EXTERNAL_DATA, size_threshold=1024)
    for name in tensor_files - {EXTERNAL_DATA}:
        (base / name).unlink(missing_ok=True)


def prompt_family(tokenizer_json: dict, fim_tokens: Sequence[str] | None = None) -> PromptFamily:
    """The known family whose FIM tokens the tokenizer has, or the explicit `fim_tokens`; raises PromptFormatError."""
    return custom_family(tokenizer_json, fim_tokens) if fim_tokens else detect_family(tokenizer_json)


def prompt_block(tokenizer_json: dict, fim_orders: Sequence[str] | None = None,
                 fim_tokens: Sequence[str] | None = None) -> dict:
    """msn.json's `prompt` block: the FIM (and repo-level) strings of the family the tokenizer belongs to.

    `fim_orders`: the FIM orders the model was trained with, the one the engine should use first;
    None takes the family's (spm,psm for StarCoder, psm for the others). Raises PromptFormatError
    when the tokenizer has no FIM tokens: the engine prompts every completion with them.
    """
    return build_prompt_block(prompt_family(tokenizer_json, fim_tokens), tokenizer_json, fim_orders)


def bos_token_prepended(tokenizer_json: dict, bos_token_id: int | None) -> int | None:
    """The BOS id only if the tokenizer itself puts it before a text (its post-processor template):
    Qwen2 and StarCoder2 configs name a BOS id their tokenizers never add, DeepSeek-Coder's adds it."""
    if bos_token_id is None:
        return None
    processor = tokenizer_json.get("post_processor") or {}
    processors = processor.get("processors", [processor]) if processor.get("type") == "Sequence" else [processor]
    for item in processors:
        for piece in (item.get("single") or []) if isinstance(item, dict) else []:
            special = piece.get("SpecialToken") if isinstance(piece, dict) else None
            if special and token_id(tokenizer_json, special.get("id", "")) == bos_token_id:
                return bos_token_id
    return None


def build_msn_json(model: nn.Module, tokenizer_json: dict, name: str, training: dict,
                   fim_orders: Sequence[str] | None = None, max_positions: int | None = None,
                   fim_tokens: Sequence[str] | None = None, weights: str = "float32") -> dict:
    config = model.config
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    prompt = prompt_block(tokenizer_json, fim_orders, fim_tokens)
    # The engine stops a completion at eos; for a FIM model that is the token that ends a middle.
    eos = token_id(tokenizer_json, prompt["fim"]["eot"])
    if eos is None:
        eos = config.eos_token_id[0] if isinstance(config.eos_token_id, list) else config.eos_token_id
    return {
        "format": FORMAT,
        "name": name,
        "architecture": config.model_type,
        "num_layers": config.num_hidden_layers,
        "num_attention_heads": config.num_attention_heads,
        "num_kv_heads": config.num_key_value_heads,
        "head_dim": head_dim,
        "hidden_size": config.hidden_size,
        "vocab_size": config.vocab_size,
        "max_positions": max_positions or config.max_position_embeddings,
        "bos_token_id": bos_token_prepended(tokenizer_json, config.bos_token_id),
        "eos_token_id": eos,
        "prompt": prompt,
        "mask_value": MASK_VALUE,
        "parameters": count_parameters(model),
        "weights": weights,
        "training": training,
    }


def model_card_stub(msn: dict) -> str:
    return (
        f"# {msn['name']}\n\n"
        f"Exported to `{FORMAT}` by `training/export.py`. {msn['parameters']:,} parameters, "
        f"{msn['num_layers']} layers, hidden {msn['hidden_size']}, vocab {msn['vocab_size']}, "
        f"weights {msn['weights']}.\n\n"
        f"Training: `{json.dumps(msn['training'])}`\n\n"
        "Data, licences, quality and speed: not yet recorded (see model/MODEL_CARD.md for the template).\n"
    )


def load_training_info(checkpoint: Path, training_json: Path | None) -> dict:
    """msn.json's "training" record: what the trainer left beside the checkpoint, then --training-json on top.

    training.train writes RUN/hf/training.json (progress: step, tokens_seen, val_loss) and RUN/run.json
    (arguments: noise, span_length, train_data, init); unknown or missing files are simply skipped.
    """
    record: dict = {"method": "unknown", "tokens_seen": 0}
    progress = read_json_object(checkpoint / "training.json")
    for key in ("tokens_seen", "step", "val_loss"):
        if key in progress:
            record[key] = progress[key]
    run = read_json_object(checkpoint.parent / "run.json")
    if run.get("noise") == "msn":
        record.update(method="msn", msn_span_length=run.get("span_length"))
    elif run.get("noise") == "none":
        record.update(method="baseline", msn_span_length=0)
    for source, target in (("train_data", "corpus"), ("init", "init"), ("preset", "preset")):
        if run.get(source) is not None:
            record[target] = run[source]
    if training_json is not None:
        record.update(read_json_object(training_json, required=True))
    return record


def read_json_object(path: Path, required: bool = False) -> dict:
    if not path.is_file():
        if required:
            raise FileNotFoundError(path)
        return {}
    value = json.loads(path.read_text())
    if not isinstance(value, dict):
        raise ValueError(f"{path} must hold a JSON object")
    return value


def export_model_dir(
    model: nn.Module, tokenizer_path: Path, out_dir: Path, name: str, training: dict,
    fim_orders: Sequence[str] | None = None, max_positions: int | None = None,
    fim_tokens: Sequence[str] | None = None, quantize: str = "none",
) -> dict:
    """Write model.onnx, tokenizer.json, msn.json (and a MODEL_CARD.md stub if absent) to `out_dir`.

    Refuses (UnsupportedModelError, PromptFormatError) before writing anything when the model or
    its tokenizer cannot be exported exactly. `max_positions` caps msn.json's positions (default the
    config's); a sliding window must be at least that long. `quantize` int8/int4 rewrites the float32
    graph with weight-only MatMulNBits weights (training/quantize.py); inputs and outputs stay float32.
    """
    tokenizer_json = json.loads(Path(tokenizer_path).read_text(encoding="utf-8"))
    max_positions = check_exportable(model.config, architecture_name(model), max_positions)
    check_quantizable(model.config, quantize)
    prompt_block(tokenizer_json, fim_orders, fim_tokens)  # refuse a tokenizer without FIM tokens up front
    out_dir.mkdir(parents=True, exist_ok=True)
    if Path(tokenizer_path).resolve() != (out_dir / "tokenizer.json").resolve():
        shutil.copyfile(tokenizer_path, out_dir / "tokenizer.json")
    onnx_path = out_dir / "model.onnx"
    export_onnx(model, onnx_path)
    parameters = count_parameters(model)
    check_file_size(onnx_path, parameters)  # the float graph first: a duplicated weight shows here
    if quantize != "none":
        float_size = onnx_size(onnx_path)
        quantize_file(onnx_path, quantize, EXTERNAL_DATA)
        check_quantized_size(onnx_path, parameters, onnx_size(onnx_path))
        print(f"quantized {onnx_path} to {weights_label(quantize)}: {float_size:,} -> {onnx_size(onnx_path):,} bytes")
    msn = build_msn_json(model, tokenizer_json, name, training, fim_orders, max_positions, fim_tokens,
                         weights_label(quantize))
    (out_dir / "msn.json").write_text(json.dumps(msn, indent=2) + "\n")
    card = out_dir / "MODEL_CARD.md"
    if not card.exists():
        card.write_text(model_card_stub(msn))
    if quantize != "none":
        check_quantized_self_parity(out_dir, quantize)
    return msn


def check_quantized_self_parity(out_dir: Path, quantize: str) -> None:
    """A quantized graph must give each row the same logits whether its pass holds one token, a chunk or
    a tree, or tree decoding would not be plain greedy decoding; some CPU kernels do not (see quantize.py)."""
    from training.parity import PARITY_TOLERANCE, ContractSession, check_parity, onnx_causal_reference

    session = ContractSession(out_dir)
    results = check_parity(session, onnx_causal_reference(session))
    worst = max(results, key=results.get)
    print(f"quantized self-parity: max abs diff {results[worst]:.2e} ({worst})")
    if not results[worst] < PARITY_TOLERANCE:
        raise UnsupportedModelError(
            f"--quantize {quantize}: onnxruntime's kernels give this model's rows other logits in a {worst.replace('_', ' ')} "
            f"pass than in a causal one (max abs diff {results[worst]:.2e}), so tree decoding would not equal greedy; "
            f"use another --quantize mode on this CPU (none, float32, is exact on every CPU)")


def onnx_size(onnx_path: Path) -> int:
    """Bytes of the graph plus its external weights file, if any."""
    data = onnx_path.parent / EXTERNAL_DATA
    return onnx_path.stat().st_size + (data.stat().st_size if data.exists() else 0)


def check_file_size(onnx_path: Path, parameters: int) -> None:
    """Fail if the graph stores much more than the float32 weights (e.g. a transposed copy of tied embeddings)."""
    size, expected = onnx_size(onnx_path), parameters * 4
    if size > expected * 1.05 + 200_000:
        raise RuntimeError(f"{onnx_path} is {size:,} bytes, expected about {expected:,} (duplicated weights?)")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, type=Path,
                        help="local Hugging Face directory: LlamaForCausalLM, Qwen2ForCausalLM or Starcoder2ForCausalLM")
    parser.add_argument("--tokenizer", required=True, type=Path, help="tokenizer.json to ship with the model")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--name", default=None)
    parser.add_argument("--training-json", type=Path, default=None,
                        help="JSON object merged into msn.json 'training' (over what the trainer left beside the checkpoint)")
    parser.add_argument("--fim-orders", default=None,
                        help="FIM orders the model was trained with, the engine's choice first, e.g. spm,psm "
                             "(default: the tokenizer family's: spm,psm for StarCoder, psm otherwise)")
    parser.add_argument("--fim-tokens", default=None,
                        help="prefix,suffix,middle,eot strings for a tokenizer outside the known families")
    parser.add_argument("--quantize", choices=QUANTIZE_MODES, default="none",
                        help="weight-only quantization of the MatMul and embedding weights with onnxruntime's "
                             "MatMulNBits (symmetric, blocks of 32); activations, logits and the KV cache stay float32")
    parser.add_argument("--max-positions", type=int, default=None,
                        help="positions msn.json declares (default the config's max_position_embeddings); "
                             "at most the sliding window for windowed models")
    args = parser.parse_args(argv)

    orders = args.fim_orders.split(",") if args.fim_orders else None
    fim_tokens = args.fim_tokens.split(",") if args.fim_tokens else None
    try:
        # Check the tokenizer before loading (possibly gigabytes of) weights.
        family = prompt_family(json.loads(args.tokenizer.read_text(encoding="utf-8")), fim_tokens)
        model, max_positions = load_causal_lm(args.checkpoint, args.max_positions)
        training = load_training_info(args.checkpoint, args.training_json)
        msn = export_model_dir(model, args.tokenizer, args.out, args.name or args.checkpoint.name, training,
                               orders, max_positions, fim_tokens, args.quantize)
    except (UnsupportedModelError, PromptFormatError) as error:
        raise SystemExit(f"cannot export {args.checkpoint}: {error}") from None
    print(f"wrote {args.out}: {architecture_name(model)}, {msn['parameters']:,} parameters, "
          f"model.onnx {onnx_size(args.out / 'model.onnx'):,} bytes ({msn['weights']}), max_positions {msn['max_positions']}, "
          f"prompt format {family.name} ({','.join(msn['prompt']['fim_orders'])})")


if __name__ == "__main__":
    main()
