"""Constants of the msn-onnx/1 model-directory contract (docs/model-contract.md) that the exporter writes
and every Python reader of an exported model checks against: one home for each."""

FORMAT = "msn-onnx/1"
# Added to the attention scores of hidden positions: large and negative, not -inf, since a fully masked
# row would give NaN. The exporter declares it in msn.json (mask_value), which the engine reads.
MASK_VALUE = -1e9
