"""`export.precision int8`: the encoder's Dense layers computed in int8 while an export traces the model.

The six Dense layers of every block (query, key, value, attention output, intermediate, output: all but a
few percent of a forward pass's flops) get per-output-channel int8 weights, their inputs quantized per call
(tfbig.layers.int8.Int8Dense); the embeddings, LayerNorms, attention's two batched products, the pooler and
the head stay float32. On an AMX/VNNI CPU (measured for MiniLM's [8192, 384]·[384, 1536] product and its kin)
the int8 products, quantization included, ran 1.7–3.2× float32's; benchmarks/inference.py times the whole export.
"""
import contextlib

from tfbig.errors import UserError
from tfbig.names import LORA_TARGETS

INT8 = "int8"  # the export_precision, and what the export's tfbig_export.json records


def int8_targets(model) -> list:
    """The LoraDense layers an int8 export quantizes: LORA_TARGETS of each block of tfbig's encoder."""
    from tfbig.models.encoder import BertEncoder
    from tfbig.models.lora import _target_layer

    backbone = getattr(model, "backbone", None)
    if not isinstance(backbone, BertEncoder):
        raise UserError("export precision int8 needs model.backbone tfbig (tfbig's own encoder); hf's "
                        "TFBertModel builds its Dense layers inside transformers")
    return [_target_layer(block, target) for block in backbone.blocks for target in LORA_TARGETS]


@contextlib.contextmanager
def int8_dense(model):
    """Inside, the encoder's Dense layers compute in int8 (from their current kernels: merge LoRA first);
    yields (int8 variables to save, the float variables the int8 ones replace). On exit they are float again."""
    from tfbig.layers.int8 import Int8Dense

    layers = int8_targets(model)
    if model.dtype_policy.name != "float32":
        raise UserError(f"export precision int8 quantizes a float32 model, not one computing in "
                        f"{model.dtype_policy.name}")
    replaced = [w for layer in layers for w in (layer.kernel, layer.bias) if w is not None]
    try:
        for layer in layers:
            layer.export_product = Int8Dense(layer.kernel.numpy(), None if layer.bias is None else layer.bias.numpy())
        yield [v for layer in layers for v in layer.export_product.variables], replaced
    finally:
        for layer in layers:
            layer.export_product = None
