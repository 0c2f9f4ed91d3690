"""The valid values of the config's name fields, in one TensorFlow-free place.

`tfbig.config` refuses any other value at load time (with the closest valid name); the layers that act on a
name (strategy, precision, backbone, optimizer, data sources) import their tuple from here, so the check and
the code it guards cannot drift apart.
"""

BACKBONES = ("tfbig", "hf")  # model.backbone
DECAYS = ("linear", "constant")  # train.decay, after warmup
OPTIMIZERS = ("adam", "adamw", "adagrad", "sgd")  # train.optimizer
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")  # a Keras mixed-precision policy
PRECISION_CHOICES = ("auto",) + PRECISIONS  # train.precision: auto is resolved by the hardware layer
# export_precision: same (the policy the run trained in), auto (the fastest for this hardware), or a compute type;
# int8: float32 with the encoder's Dense layers dynamically quantized (tfbig.export.int8)
EXPORT_PRECISIONS = ("same", "auto", "float32", "bfloat16", "int8")
STRATEGIES = ("auto", "default", "one_device", "mirrored", "multi_worker", "tpu")  # runtime.strategy
FORMATS = ("auto", "folder", "csv", "tsv", "jsonl", "tfrecord", "conll", "word_tag")  # data.format
ON_ERRORS = ("raise", "skip")  # data.on_error
DOCUMENTS = ("file", "blank_line")  # data.documents: how a plain-text file of a corpus splits into documents
# data.source names of unlabelled corpora (tfbig.data.corpora), besides a path; bbc and fortunes without labels
CORPORA = ("bbc", "fortunes", "pydocs", "enwiki_sample")
# model.lora.targets: the Dense layers of each block that may get an adapter (tfbig.models.lora)
LORA_TARGETS = ("query", "key", "value", "attention_output", "intermediate", "output")
RECOMPUTES = ("none", "blocks")  # train.recompute
POOLINGS = ("pooler", "cls", "mean")  # model.pooling: what a sequence-level head reads (tfbig.layers.pooling)
CLASS_WEIGHTS = ("none", "balanced")  # train.class_weights: balanced weighs class c by n / (C·count_c)

# What TextClassifier logs each epoch (its `metrics` names), as fit reports them: training values under their
# own name, validation values with `val_`. train.monitor picks one for early stopping and the best checkpoint.
CLASSIFIER_METRICS = ("loss", "ce", "l2_term", "l1_term", "accuracy", "macro_f1")
MONITORS = tuple(f"val_{m}" for m in CLASSIFIER_METRICS) + CLASSIFIER_METRICS
LONG_SENTENCES = ("split", "truncate")  # data.long_sentences: a tagged sentence over data.max_words

# Pretraining (tfbig pretrain): LAMB for large batches; polynomial decay (1 - progress)^train.decay_power.
OPTIMIZERS += ("lamb",)
DECAYS += ("polynomial",)
