"""Activation recomputation: a block's intermediate tensors are recomputed in the backward pass, not kept.

Only a block's input (B, T, H) stays alive for the backward pass; its attention scores (B, N, T, T) and
feed-forward activations (B, T, I) exist for one block at a time. The price is one more forward pass.
Dropout masks must be the same in the recomputation as in the forward pass: the block runs inside
`seeded_dropout` with a seed drawn once per step and passed in as a tensor, so both runs draw the same masks.
"""
from tfbig._keras import keras, tf
from tfbig.layers.dropout import seeded_dropout


@keras.utils.register_keras_serializable("tfbig")
class StepSeeds(keras.__internal__.layers.BaseRandomLayer):
    """(n, 2) int32 seeds per call, one per recomputed block, from Keras' per-layer RandomGenerator (a
    checkpointed `tf.random.Generator` under tfbig.train.resume.checkpointable_dropout: resumes exactly)."""

    def call(self, n: int):
        return self._random_generator.random_uniform([n, 2], minval=0, maxval=2 ** 31 - 1, dtype=tf.int32)


def seeded_call(block, x, attention_mask, seed, training, return_attention_scores=False):
    """`block(x, ...)` with its dropout masks drawn from `seed`: the same seed gives the same masks."""
    with seeded_dropout(seed):
        return block(x, attention_mask=attention_mask, training=training,
                     return_attention_scores=return_attention_scores)


def recomputed_call(block, x, attention_mask, seed, training, return_attention_scores=False):
    """`seeded_call` under tf.recompute_grad: the same values and gradients, the block's activations
    recomputed in the backward pass. x: (B, T, H); attention_mask: (B, 1, 1, T) additive; seed: (2,) int32."""

    def forward(x, attention_mask, seed):
        return seeded_call(block, x, attention_mask, seed, training, return_attention_scores)

    return tf.recompute_grad(forward)(x, attention_mask, seed)
