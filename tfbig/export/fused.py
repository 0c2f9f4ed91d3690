"""tfbig's encoder as an export serves it: attention's query, key and value in one product, (under a mixed
policy) every kernel stored in the compute dtype, and (a model reading only the [CLS] state, any precision)
the last block at that position only.

While an export traces the model:
  - each block's attention gets a (hidden, 3·hidden) kernel holding its three kernels side by side, the
    queries' 1/√d folded in (`MultiHeadSelfAttention.fused_projection`): at inference a block then runs one
    product and one head transpose where it ran three of each, and no scaling op;
  - when the model's head reads only the pooled output and that comes from the [CLS] state (pooling pooler or
    cls: a classification, multi-label or regression head), the last block computes its first position only
    (`BertEncoder.first_token_only`, `first_token_only` here): keys and values of every position, then one
    query, attention output and feed-forward row per text — most of 1/L of the encoder's work left out at no
    change of the outputs (MiniLM: 12% of its flops);
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


def reads_first_token_only(model) -> bool:
    """Whether `model` (a TaskModel) reads nothing of its backbone's last block but the first position: its
    head reads only "pooled_output" (`reads_pooled_output_only`) and that is the pooler's or the [CLS] state."""
    head = getattr(model, "head", None)
    return bool(getattr(head, "reads_pooled_output_only", False)) and getattr(model, "pooling", None) in ("pooler",
                                                                                                         "cls")


@contextlib.contextmanager
def first_token_only(model):
    """Inside, tfbig's encoder computes its last block at the first position only when that is all `model`
    reads (`reads_first_token_only`); yields whether it does. Any export precision (int8 too)."""
    on = bool(fused_blocks(model)) and reads_first_token_only(model)
    if on:
        model.backbone.first_token_only = True
    try:
        yield on
    finally:
        if on:
            model.backbone.first_token_only = False


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
