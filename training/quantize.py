"""Weight-only quantization of an exported msn-onnx/1 graph with onnxruntime's own MatMulNBits tools.

Every MatMul with a constant weight becomes a `com.microsoft.MatMulNBits` (4 or 8 bits, symmetric,
blocks of BLOCK_SIZE along the input dimension; onnxruntime's MatMulNBitsQuantizer) computed at
ACCURACY_LEVEL, and every
Gather from a constant table (the token embedding) becomes a `GatherBlockQuantized` over the same
block layout. A tied embedding is stored once: the lookup reads the LM head's quantized blocks
through a Reshape instead of keeping the float matrix beside them. Inputs, outputs, shapes and
dtypes (float32 logits and new_key_values) are unchanged; activations between ops and the KV cache
stay float32.

ACCURACY_LEVEL: at level 4 MatMulNBits quantizes its input rows to int8 per block and uses the CPU's
integer dot products. Measured here (`python -m training.real_size_probe --kernels`, one 896 x 4864
MatMul, one thread): q=1 float32 0.96 ms; int8 40 ms with the level unset (float activations: no fast
kernel), 0.23 ms at level 4; int4 0.89 ms unset, 0.23 ms at level 4. But the engine's losslessness
needs a row's logits not to depend on how many rows its pass holds (ar's q=1 steps vs a tree), and at
Qwen2.5-Coder-0.5B's shape int4 at level 4 gave a q=1 row 0.05 away from the same row in a longer
pass (int8 at level 4: identical; int4 unset: 8e-6, float rounding), which flipped greedy tokens: so
int8 runs at level 4 and int4 with float activations. `training.parity`'s single-token check and
test_quantize catch such a kernel.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

QUANTIZE_MODES = ("none", "int8", "int4")
BLOCK_SIZE = 32
BITS = {"int8": 8, "int4": 4}
# int8 activations inside MatMulNBits where the result does not depend on the pass's row count (see above).
ACCURACY_LEVEL = {"int8": 4, "int4": 0}
SAVE_EXTERNAL_ABOVE = 1_800_000_000  # bytes of weights; protobuf refuses files over 2 GB


def weights_label(mode: str) -> str:
    """msn.json's "weights" value: how the graph stores its weights."""
    return "float32" if mode == "none" else f"{mode}-matmulnbits-b{BLOCK_SIZE}-acc{ACCURACY_LEVEL[mode]}"


def check_quantizable(config, mode: str) -> None:
    """Raise UnsupportedModelError before exporting when `mode` cannot be applied to the model."""
    from training.architectures import UnsupportedModelError

    if mode not in QUANTIZE_MODES:
        raise ValueError(f"quantize must be one of {', '.join(QUANTIZE_MODES)}, not {mode!r}")
    if mode != "none" and config.hidden_size % BLOCK_SIZE:
        # The embedding lookup dequantizes whole rows; MatMulNBits would pad them to a block.
        raise UnsupportedModelError(
            f"--quantize {mode}: hidden size {config.hidden_size} is not a multiple of the block size {BLOCK_SIZE}")


def _node_quantizer(bits: int):
    from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, DefaultWeightOnlyQuantizer

    return DefaultWeightOnlyQuantizer(DefaultWeightOnlyQuantConfig(block_size=BLOCK_SIZE, is_symmetric=True, bits=bits))


def quantize_matmuls(model: onnx.ModelProto, bits: int, accuracy_level: int) -> onnx.ModelProto:
    """MatMul -> MatMulNBits for every constant weight, at `accuracy_level` (0: float32 activations)."""
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    logging.getLogger("onnxruntime.quantization").setLevel(logging.WARNING)  # it logs every node at INFO
    quantizer = MatMulNBitsQuantizer(model, bits=bits, block_size=BLOCK_SIZE, is_symmetric=True,
                                     accuracy_level=accuracy_level or None, op_types_to_quantize=("MatMul",))
    quantizer.process()
    return quantizer.model.model


def _initializers(graph: onnx.GraphProto) -> dict[str, TensorProto]:
    return {tensor.name: tensor for tensor in graph.initializer}


def _block_table(graph: onnx.GraphProto, table: TensorProto, gather_axis: int, bits: int,
                 prefix: str) -> tuple[onnx.NodeProto, str, str]:
    """A Reshape giving [rows, K*bits/8] uint8 blocks of a float table, and the names of blocks and scales.

    `gather_axis` is the table's row axis (1 for the tied [hidden, vocab] matrix). Reuses the
    MatMulNBits blocks the quantizer wrote for the same weight (named `{weight}_Q{bits}`, laid out
    [N, k_blocks, blob]) so a tied matrix is stored once; otherwise quantizes the table the same way.
    """
    inits = _initializers(graph)
    packed_name, scales_name = f"{table.name}_Q{bits}", f"{table.name}_scales"
    weight = numpy_helper.to_array(table)
    k, rows = weight.shape if gather_axis == 1 else weight.shape[::-1]
    if k % BLOCK_SIZE:
        raise ValueError(f"{table.name}: hidden size {k} is not a multiple of the block size {BLOCK_SIZE}")
    if packed_name not in inits:
        packed, scales, _ = _node_quantizer(bits).qbits_block_quant(weight if gather_axis == 1 else weight.T.copy())
        graph.initializer.extend([numpy_helper.from_array(packed, packed_name), numpy_helper.from_array(scales, scales_name)])
    # GatherBlockQuantized wants data and scales of the same rank: view the blocks as [rows, K*bits/8].
    shape_name, flat_name = f"{prefix}_rows_shape", f"{prefix}_rows"
    graph.initializer.append(numpy_helper.from_array(np.array([rows, k * bits // 8], np.int64), shape_name))
    reshape = helper.make_node("Reshape", [packed_name, shape_name], [flat_name], name=f"{prefix}_Reshape")
    return reshape, flat_name, scales_name


def _quantized_gather(graph: onnx.GraphProto, node: onnx.NodeProto, table: TensorProto, bits: int) -> list[onnx.NodeProto]:
    """The nodes replacing a Gather from `table`: Reshape of the blocks, GatherBlockQuantized (+ Transpose)."""
    axis = next((attribute.i for attribute in node.attribute if attribute.name == "axis"), 0)
    prefix = f"{node.name or node.output[0]}_Q{bits}"
    reshape, data, scales = _block_table(graph, table, axis, bits, prefix)
    rows_out = node.output[0] if axis == 0 else f"{prefix}_output"
    nodes = [reshape, helper.make_node(
        "GatherBlockQuantized", [data, node.input[1], scales], [rows_out], name=prefix,
        domain="com.microsoft", gather_axis=0, quantize_axis=1, block_size=BLOCK_SIZE, bits=bits)]
    if axis == 1:
        # The tied lookup gathers columns of [hidden, vocab] with 1-D ids (ContractModel.embed flattens
        # them); GatherBlockQuantized returns rows [ids, hidden], so transpose back to [hidden, ids].
        nodes.append(helper.make_node("Transpose", [rows_out], [node.output[0]], name=f"{prefix}_T", perm=[1, 0]))
    return nodes


def quantize_gathers(model: onnx.ModelProto, bits: int) -> None:
    """Gather from a float 2-D initializer -> GatherBlockQuantized (same values as the MatMulNBits dequantization)."""
    graph = model.graph
    inits, nodes = _initializers(graph), []
    for node in list(graph.node):
        table = inits.get(node.input[0]) if node.op_type == "Gather" else None
        if table is None or table.data_type != TensorProto.FLOAT or len(table.dims) != 2:
            nodes.append(node)
        else:
            nodes.extend(_quantized_gather(graph, node, table, bits))
    graph.ClearField("node")
    graph.node.extend(nodes)


def remove_unused_initializers(model: onnx.ModelProto) -> None:
    used = {name for node in model.graph.node for name in node.input}
    keep = [tensor for tensor in model.graph.initializer if tensor.name in used]
    model.graph.ClearField("initializer")
    model.graph.initializer.extend(keep)


def quantize_model(model: onnx.ModelProto, mode: str, accuracy_level: int | None = None) -> onnx.ModelProto:
    """The weight-only quantized copy of a float32 contract graph (`mode` int8 or int4; the mode's level by default)."""
    bits = BITS[mode]
    quantized = quantize_matmuls(model, bits, ACCURACY_LEVEL[mode] if accuracy_level is None else accuracy_level)
    quantize_gathers(quantized, bits)
    remove_unused_initializers(quantized)
    return quantized


def quantize_file(onnx_path: Path, mode: str, external_data: str) -> None:
    """Rewrite `onnx_path` (and its external weights file, if any) with quantized weights."""
    model = quantize_model(onnx.load(str(onnx_path)), mode)
    data_path = onnx_path.parent / external_data
    data_path.unlink(missing_ok=True)  # onnx appends to an existing data file; small results need none
    if sum(len(tensor.raw_data) for tensor in model.graph.initializer) > SAVE_EXTERNAL_ABOVE:
        onnx.save(model, str(onnx_path), save_as_external_data=True, all_tensors_to_one_file=True,
                  location=external_data, size_threshold=1024)
    else:
        onnx.save(model, str(onnx_path))


def stored_weights(model: onnx.ModelProto) -> tuple[int, int, int]:
    """(float32 weight elements, quantized weight elements, bits) the graph stores, each tensor counted once."""
    inits = _initializers(model.graph)
    quantized: dict[str, int] = {}
    bits = 0
    for node in model.graph.node:
        attributes = {attribute.name: attribute.i for attribute in node.attribute}
        if node.op_type == "MatMulNBits":
            quantized[node.input[1]] = attributes["K"] * attributes["N"]
            bits = attributes["bits"]
    floats = sum(int(np.prod(tensor.dims)) for tensor in inits.values() if tensor.data_type == TensorProto.FLOAT
                 and not tensor.name.endswith("_scales"))
    for name, tensor in inits.items():
        # Blocks of a table quantized for a Gather only (an untied embedding): [rows, k_blocks, blob].
        if name.endswith(f"_Q{bits}") and name not in quantized and len(tensor.dims) == 3:
            quantized[name] = tensor.dims[0] * tensor.dims[1] * BLOCK_SIZE
    return floats, sum(quantized.values()), bits


def check_quantized_size(onnx_path: Path, parameters: int, size: int) -> None:
    """Fail if the quantized graph stores a weight twice (e.g. a float copy of the tied embedding) or
    is larger than its quantized and float weights account for."""
    floats, quantized, bits = stored_weights(onnx.load(str(onnx_path), load_external_data=False))
    if floats + quantized > parameters * 1.01 + 10_000:
        raise RuntimeError(f"{onnx_path} stores {floats + quantized:,} weights for {parameters:,} parameters (duplicated weights?)")
    expected = floats * 4 + quantized * (bits / 8 + 4 / BLOCK_SIZE)
    if size > expected * 1.05 + 200_000:
        raise RuntimeError(f"{onnx_path} is {size:,} bytes, expected about {int(expected):,}")
