"""Activation recomputation: a block's intermediate tensors are recomputed in the backward pass, not kept.

Only a block's input (B, T, H) and its dropout keep-masks (1 byte an element) stay alive for the backward
pass; its attention scores (B, N, T, T) and feed-forward activations (B, T, I) exist for one block at a
time. The recomputation replays the forward pass's masks instead of drawing them again: they are exactly
the forward's, and the random numbers (a large part of a CPU step) are drawn once. The price is one more
forward pass without dropout's random draws.
"""
from tfbig._keras import tf
from tfbig.layers.dropout import recorded_masks, replayed_masks

try:  # what tf.recompute_grad uses: the forward pass is not taped (in eager mode it would be kept)
    from tensorflow.python.eager.record import stop_recording
except ImportError:  # pragma: no cover - another TensorFlow layout; graph mode keeps nothing either way
    import contextlib

    stop_recording = contextlib.nullcontext


def recomputed_call(block, x, attention_mask, training, return_attention_scores=False, unpadding=None):
    """`block(x, ...)` with the same values and gradients, its activations recomputed in the backward pass.

    x: (B, T, H) float32, or the real tokens' (n, H) rows with unpadding (tfbig.layers.unpad.Unpadding).
    attention_mask: (B, 1, 1, T) additive (no gradient flows to it).
    Returns what `block` returns (with return_attention_scores, (x, probabilities)).
    """

    def call(inputs):
        return block(inputs, attention_mask=attention_mask, training=training,
                     return_attention_scores=return_attention_scores, unpadding=unpadding)

    @tf.custom_gradient
    def forward(inputs):
        with stop_recording(), recorded_masks() as recorded:
            out = call(inputs)
        masks = recorded["masks"]  # (kept: the backward replays them)

        def backward(*upstream, variables=None):
            upstream = [tf.zeros_like(o) if g is None else g
                        for g, o in zip(upstream, tf.nest.flatten(out))]
            # Recompute only once the upstream gradient exists, or the executor could run it early and keep
            # its activations as long as the plain step would.
            with tf.control_dependencies(upstream):
                again_in = tf.identity(inputs)
            variables = list(variables or [])
            with tf.GradientTape() as tape:
                tape.watch(again_in)
                with replayed_masks(masks):
                    again = call(again_in)
            grads = tape.gradient(tf.nest.flatten(again), [again_in] + variables, output_gradients=upstream)
            return grads[0], grads[1:]

        return out, backward

    return forward(x)
