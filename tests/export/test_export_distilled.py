"""`tfbig export` of a distillation run: the student is rebuilt from its teacher's run and its own weights."""
import os

import numpy as np

from tfbig._keras import tf
from tfbig.config import ModelConfig, save_config
from tfbig.data.tokenizer import BertTextTokenizer
from tfbig.distill.config import DistillConfig, DistillRunConfig, StudentConfig
from tfbig.distill.student import build_student
from tfbig.export.from_run import export_run


def test_distilled_student_exports_with_its_own_weights(tmp_path, tiny_run, bbc_texts):
    teacher_cfg, teacher = tiny_run
    cfg = DistillRunConfig(name="student", output_dir=str(tmp_path),
                           model=ModelConfig(model_dir=teacher_cfg.model.model_dir),
                           distill=DistillConfig(teachers=[teacher_cfg.run_dir]), student=StudentConfig(num_layers=1))
    cfg.data.max_length = 64
    os.makedirs(cfg.run_dir)
    save_config(cfg, os.path.join(cfg.run_dir, "config.yaml"))
    with open(os.path.join(teacher_cfg.run_dir, "labels.txt")) as f:
        labels = f.read()
    with open(os.path.join(cfg.run_dir, "labels.txt"), "w") as f:
        f.write(labels)
    student = build_student(teacher, 5, num_layers=1, backbone=cfg.model.backbone)
    student.head.set_weights([w + 0.5 for w in student.head.get_weights()])  # "trained": unlike a fresh copy
    student.save_weights(os.path.join(cfg.run_dir, "final.weights"))

    path = export_run(cfg.run_dir, str(tmp_path / "sm"), tokenizer="core")
    tok = BertTextTokenizer.from_model_dir(cfg.model.model_dir, 64)
    texts = tf.constant(bbc_texts[:8])
    expected = tf.nn.softmax(student(tok(texts), training=False)).numpy()
    out = tf.saved_model.load(path).signatures["serving_default"](text=texts)["probabilities"].numpy()
    np.testing.assert_allclose(out, expected, atol=1e-5, rtol=0)
