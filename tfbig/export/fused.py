"""The products of tfbig's encoder as an export serves them: attention's query, key and value in one, and
(under a mixed policy) every kernel stored in the compute dtype.

While an export traces the model:
  - each block's attention gets a (hidden, 3·hidden) kernel holding its three kernels side by side, the
    queries' 1/√d folded in (`MultiHeadSelfAttention.fused_projection`): at inference a block then runs one
    product and one head transpose where it ran three of each, and no scaling op;
  - under a mixed policy (bfloat16), those kernels and the block's three other Dense kernels (attention
    output, intermediate, output) are stored in bfloat16: a Keras Dense casts its float32 kernel at every
    call (measured: 4 ms of a 20 ms batch-1 call at MiniLM's size on a 2-core CPU), the stored kernel has the
    same values and needs no cast.
The export saves these variables instead of the ones they replace; the model's own variables (and so its
checkpoints) are untouched.
"""
import contextlib

from tfbig.names import LORA_TARGETS

QKV = ("query", "key", "value")


def fused_blocks(model) -> list:
    """The blocks of `model.backbone` when it is tfbig's encoder; [] for any other backbone."""
    from tfbig.models.encoder import BertEncoder

    backbone = getattr(model, "backbone", None)
    return list(backbone.blocks) if isinstance(backbone, BertEncoder) else []


def _weights(dense) -> list:
    return [w for w in (dense.kernel, dense.bias) if w is not None]


@contextlib.contextmanager
def served_products(model):
    """Inside, tfbig's encoder computes Q, K and V with one product per block and, under a mixed policy, every
    block's product with a kernel stored in the compute dtype (from the current kernels: merge LoRA first).
    Yields (the variables to save, the variables they replace). On exit the layers compute as before."""
    from tfbig.layers.attention import FusedProjection
    from tfbig.models.lora import _target_layer

    blocks = fused_blocks(model)
    served, replaced = [], []
    rest = [t for t in LORA_TARGETS if t not in QKV]
    try:
        for block in blocks:
            attention = block.attention
            attention.fused_qkv = attention.fused_projection()
            served += attention.fused_qkv.variables
            replaced += [w for name in QKV for w in _weights(_target_layer(block, name))]
            for name in rest:
                dense = _target_layer(block, name)
                if dense.compute_dtype == "float32":
                    continue
                bias = dense.bias.numpy() if dense.bias is not None else [0.0] * dense.units
                dense.export_product = FusedProjection(dense.kernel.numpy(), bias, dense.compute_dtype, name=name)
                served += dense.export_product.variables
                replaced += _weights(dense)
        yield served, replaced
    finally:
        for block in blocks:
            block.attention.fused_qkv = None
            for name in rest:
                _target_layer(block, name).export_product = None
