"""Run as a script by test_distill_mirrored.py: one SGD distillation step on 1 device and on 2 logical CPUs.

Logical devices must be configured before TensorFlow initialises its devices, hence a fresh process.
Prints the largest absolute difference between the two students' weights after the step.
"""
import sys

import numpy as np

from tfbig._keras import keras, tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from tfbig.distill.model import DistillationModel  # noqa: E402
from tfbig.models.backbone import build_backbone  # noqa: E402
from tfbig.train.task_model import TextClassifier  # noqa: E402


def classifier(folder, name):
    # tfbig's encoder (the default backbone): transformers is never imported, and it builds ~3x faster
    model = TextClassifier(build_backbone("tfbig", folder, backbone_dropout=0.0), 2, dropout=0.0, l2=0.01, name=name)
    ids = tf.ones([1, 4], tf.int32)
    model({"input_ids": ids, "attention_mask": ids, "token_type_ids": tf.zeros_like(ids)})
    return model


def one_step(strategy, teacher_dir, student_dir, x, y):
    with strategy.scope():
        keras.utils.set_random_seed(0)
        teacher, student = classifier(teacher_dir, "teacher"), classifier(student_dir, "student")
        kernel, bias = teacher.head.get_weights()
        teacher.head.set_weights([kernel * 300.0, bias])  # soft targets far from uniform
        model = DistillationModel(teacher, student, temperature=2.0, alpha=0.5, hidden_weight=1.0,
                                  attention_weight=1.0)
        model.compile(optimizer=keras.optimizers.SGD(0.5))
    before = [w.numpy() for w in model.learned_variables()]
    model.fit(tf.data.Dataset.from_tensors((x, y)), epochs=1, verbose=0)  # one global batch of 8
    after = [w.numpy() for w in model.learned_variables()]
    moved = max(float(np.max(np.abs(a - b))) for a, b in zip(before, after))
    return after, [w.numpy() for w in teacher.weights], moved


def main(teacher_dir, student_dir):
    from tfbig.data.tokenizer import BertTextTokenizer

    texts = ["the club win the game", "players win a game", "the best players in the club", "a game to win",
             "bank shares and market growth", "the market price of shares", "sales growth for the firm",
             "the bank said shares fell"]
    tok = BertTextTokenizer.from_model_dir(teacher_dir, max_length=16)
    x, y = tok(tf.constant(texts)), tf.constant([0, 0, 0, 0, 1, 1, 1, 1], tf.int32)
    devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    assert len(devices) == 2, devices
    one, t_one, moved = one_step(tf.distribute.OneDeviceStrategy(devices[0]), teacher_dir, student_dir, x, y)
    two, t_two, _ = one_step(tf.distribute.MirroredStrategy(devices), teacher_dir, student_dir, x, y)
    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(one, two))
    teacher_diff = max(float(np.max(np.abs(a - b))) for a, b in zip(t_one, t_two))
    print(f"variables {len(one)} max_abs_diff {diff:.3e} teacher_diff {teacher_diff:.3e} moved {moved:.3e}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
