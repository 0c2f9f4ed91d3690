"""The one generic train_step: objective → loss scaling → (accumulated) gradients → optimizer step.

A subclass says what it minimises (`compute_objective`) and what learns (`learned_variables`); the step,
the global-batch averaging contract, mixed-precision loss scaling, gradient accumulation and the
throughput counters are written here once, for `TaskModel` and `DistillationModel` alike.
"""
from tfbig._keras import keras, tf


class ObjectiveModel(keras.Model):
    """Base of tfbig's trainable models.

    accumulation_steps: int. Each training batch is processed as this many micro-batches whose gradients
        are summed before one optimizer step (tfbig.train.accumulation).

    Subclasses implement:
    - `compute_objective(x, y, training) -> dict` with "loss" (the scalar this replica differentiates:
      its share of the global-batch mean plus its share of the penalty) and whatever `update_metrics` reads;
    - `loss_weights(y)`: the weight of each target position ((B,) ones for per-example losses), which
      decides a micro-batch's share under accumulation;
    - `update_metrics(y, objective) -> dict` of logs.
    """

    def __init__(self, accumulation_steps: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.accumulation_steps = int(accumulation_steps)
        # Running totals for examples/s and tokens/s; not in `metrics`, so never reset by fit.
        self.examples_seen = keras.metrics.Sum(name="examples_seen", dtype=tf.float64)
        self.tokens_seen = keras.metrics.Sum(name="tokens_seen", dtype=tf.float64)

    def learned_variables(self) -> list:
        return self.trainable_variables

    def loss_weights(self, y):
        return tf.ones([tf.shape(tf.nest.flatten(y)[0])[0]], tf.float32)

    def compute_objective(self, x, y, training: bool) -> dict:
        raise NotImplementedError

    def update_metrics(self, y, objective: dict) -> dict:
        raise NotImplementedError

    def train_step(self, data):
        x, y = data[0], data[1]
        if self.accumulation_steps > 1:
            from tfbig.train.accumulation import accumulated_gradients

            grads, objective = accumulated_gradients(self, x, y, self.accumulation_steps)
        else:
            with tf.GradientTape() as tape:
                objective = self.compute_objective(x, y, training=True)
                loss = objective["loss"]
                scaled = self.optimizer.get_scaled_loss(loss) if hasattr(self.optimizer, "get_scaled_loss") else loss
            # Read after the forward pass: a model first built inside fit has created its variables only now.
            grads = tape.gradient(scaled, self.learned_variables())
            if hasattr(self.optimizer, "get_unscaled_gradients"):
                grads = self.optimizer.get_unscaled_gradients(grads)
        self.optimizer.apply_gradients(zip(grads, self.learned_variables()))
        self.examples_seen.update_state(tf.cast(tf.shape(x["input_ids"])[0], tf.float64))
        self.tokens_seen.update_state(tf.reduce_sum(tf.cast(x["attention_mask"], tf.float64)))
        return self.update_metrics(y, objective)

    def test_step(self, data):
        x, y = data[0], data[1]
        return self.update_metrics(y, self.compute_objective(x, y, training=False))

    def get_config(self):
        return {"accumulation_steps": self.accumulation_steps}
