"""Training batches as a pure function of (seed, epoch), so a resumed run sees exactly the batches it missed.

A dataset shuffled with `reshuffle_each_iteration` orders epoch e by how often that dataset object has been
iterated: a new process would replay epoch 0's order. Here each epoch is its own dataset, shuffled with
a seed derived from (seed, epoch), and the epochs are concatenated into one stream; resuming after `step`
batches starts the stream at epoch `step // S` and skips its first `step % S` batches.
"""
from tfbig._keras import tf
from tfbig.data.pipeline import split_dataset


def epoch_seed(seed: int, epoch: int) -> int:
    return (int(seed) * 1_000_003 + int(epoch)) % (2**31 - 1)


class EpochData:
    """The training batches of every epoch.

    texts: list of str. label_ids: list of int. tokenizer: BertTextTokenizer.
    batch_size: int. Examples per batch (the micro-batch size times the accumulation steps).
    seed: int. bucketing, static_shapes: bool. As in `make_dataset`.
    """

    def __init__(self, texts, label_ids, tokenizer, batch_size: int, seed: int = 0, bucketing: bool = True,
                 static_shapes: bool = False):
        from tfbig.data.text_files import Examples

        labels = list(range(max(label_ids, default=0) + 1))  # ids map to themselves
        split = Examples(texts=list(texts), labels=list(label_ids))
        self._init(split, labels, tokenizer, batch_size, seed, bucketing, static_shapes, "raise")

    @classmethod
    def from_split(cls, split, task, tokenizer, batch_size: int, seed: int = 0, bucketing: bool = True,
                   static_shapes: bool = False, on_error: str = "raise", extra_targets=None):
        """From a split as `load_run_data` gives it: in-memory Examples or shards.

        task: a Task (its `encode` gives the targets) or the class names.
        extra_targets: tuple of arrays or None. Rows carried with each example's targets (cached teacher
            outputs): batches are then (features, (targets, *extra_targets)).
        """
        self = cls.__new__(cls)
        self._init(split, task, tokenizer, batch_size, seed, bucketing, static_shapes, on_error, extra_targets)
        return self

    def _init(self, split, task, tokenizer, batch_size, seed, bucketing, static_shapes, on_error,
              extra_targets=None):
        self.split, self.task = split, task
        self.tokenizer, self.batch_size, self.seed = tokenizer, int(batch_size), int(seed)
        self.bucketing, self.static_shapes, self.on_error = bucketing, static_shapes, on_error
        self.extra_targets = extra_targets
        self._steps = None

    def _dataset(self, shuffle: bool, seed: int):
        kwargs = dict(shuffle=shuffle, seed=seed, bucketing=self.bucketing, static_shapes=self.static_shapes,
                      on_error=self.on_error, extra_targets=self.extra_targets)
        if hasattr(self.task, "split_dataset"):  # a Task batches its own inputs; class names: one text each
            return self.task.split_dataset(self.split, self.tokenizer, self.batch_size, **kwargs)
        return split_dataset(self.split, self.task, self.tokenizer, self.batch_size, **kwargs)

    def epoch(self, epoch: int):
        """The batches of one epoch, in the order a run sees them."""
        return self._dataset(True, epoch_seed(self.seed, epoch))

    @property
    def steps_per_epoch(self) -> int:
        """Batches per epoch, counted: with bucketing each length bucket ends on its own partial batch."""
        if self._steps is None:
            self._steps = count_batches(self._dataset(False, self.seed))
        return self._steps

    def stream(self, start_step: int, epochs: int):
        """Batches from global step `start_step` to the end of epoch `epochs - 1`, as one dataset."""
        first, skip = divmod(int(start_step), self.steps_per_epoch)
        parts = [self.epoch(e) for e in range(first, epochs)]
        if not parts:
            return self.epoch(epochs - 1).take(0)
        ds = parts[0].skip(skip)
        for part in parts[1:]:
            ds = ds.concatenate(part)
        return ds


def count_batches(ds) -> int:
    return int(ds.reduce(tf.constant(0, tf.int64), lambda n, _: n + 1))


def with_known_length(ds):
    """`ds` with its batch count attached (counted once), so fit can evaluate it with steps_per_execution > 1."""
    return ds.apply(tf.data.experimental.assert_cardinality(count_batches(ds)))
