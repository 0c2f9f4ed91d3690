"""The vector a sequence-level head reads: BERT's pooler output, the [CLS] state, or the masked mean of the states."""
from tfbig._keras import tf


def pool(backbone_outputs: dict, attention_mask, pooling: str):
    """(B, H) for `pooling` (tfbig.names.POOLINGS): "pooler" the backbone's pooled_output, "cls" the first
    position of sequence_output, "mean" the mean of sequence_output over positions whose mask is 1 (summed in
    float32, returned in the states' dtype; a row with no real token gives zeros)."""
    if pooling == "pooler":
        return backbone_outputs["pooled_output"]
    states = backbone_outputs["sequence_output"]
    if pooling == "cls":
        return states[:, 0]
    if pooling != "mean":
        raise ValueError(f"pooling {pooling!r} is not one of pooler, cls, mean")
    mask = tf.cast(attention_mask, tf.float32)[:, :, None]
    total = tf.reduce_sum(tf.cast(states, tf.float32) * mask, axis=1)
    return tf.cast(tf.math.divide_no_nan(total, tf.reduce_sum(mask, axis=1)), states.dtype)
