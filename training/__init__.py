"""msn-complete training pipeline: tokenizer, MSN training, export to the msn-onnx/1 contract, evaluation."""
