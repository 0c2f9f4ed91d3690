"""RunFolder.load_model for both run kinds, and `tfbig evaluate` / `tfbig export` on a distilled run folder."""
import json
import os

import numpy as np
import pytest

from tfbig._keras import tf
from tfbig.cli import main
from tfbig.config import load_config
from tfbig.data.tokenizer import BertTextTokenizer
from tfbig.distill.config import DistillConfig, DistillRunConfig, StudentConfig
from tfbig.distill.student import student_of
from tfbig.reports.classification import classification_report
from tfbig.runs import RunFolder
from tfbig.testing import write_tiny_folder_dataset
from tfbig.train.build import build_classifier
from tfbig.train.data import load_run_data

LABELS = ["c0", "c1", "c2"]


def _forward(model, tok, texts) -> np.ndarray:
    return tf.nn.softmax(model(tok(tf.constant(texts)), training=False)).numpy()


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_bert_dir):
    """A teacher run folder and a distilled (1-layer) student's run folder, written as the jobs leave them."""
    tmp = str(tmp_path_factory.mktemp("rebuild"))
    data = write_tiny_folder_dataset(os.path.join(tmp, "data"))
    sets = [f"data.source={data}", "data.max_length=32", "data.batch_size=4", "data.val_fraction=0.2",
            f"model.model_dir={tiny_bert_dir}", f"output_dir={tmp}/runs", f"export_dir={tmp}/exports"]
    cfg = load_config(None, sets + ["name=teacher"])
    teacher = build_classifier(cfg, tiny_bert_dir, len(LABELS))
    teacher.head.dense.bias.assign([0.3, -0.2, 0.1])  # unlike a freshly built one
    teacher_run = RunFolder(cfg.run_dir)
    teacher_run.write_config(cfg)
    teacher_run.write_labels(LABELS)
    teacher_run.save_weights(teacher)

    scfg = DistillRunConfig(name="student", output_dir=cfg.output_dir, export_dir=cfg.export_dir, data=cfg.data,
                            model=cfg.model, distill=DistillConfig(teachers=[cfg.run_dir]),
                            student=StudentConfig(num_layers=1))
    student = student_of(scfg, teacher, len(LABELS))
    student.head.set_weights([w + 0.5 for w in student.head.get_weights()])  # "trained": unlike its teacher's
    student_run = RunFolder(scfg.run_dir)
    student_run.write_config(scfg)
    student_run.write_labels(LABELS)
    student_run.save_weights(student)
    tok = BertTextTokenizer.from_model_dir(tiny_bert_dir, 32)
    return {"tmp": tmp, "data": data, "teacher": (teacher_run, teacher), "student": (student_run, student),
            "tok": tok, "cfg": scfg}


@pytest.mark.parametrize("kind", ["teacher", "student"])
def test_load_model_rebuilds_the_run_with_its_weights(runs, kind):
    run, model = runs[kind]
    texts = ["the club win the game", "bank shares and market growth", ""]
    loaded = run.load_model()
    assert len(loaded.backbone.variables) == len(model.backbone.variables)  # the student's depth, not the teacher's
    np.testing.assert_allclose(_forward(loaded, runs["tok"], texts), _forward(model, runs["tok"], texts),
                               atol=1e-6, rtol=0)


def test_evaluate_a_distilled_run_on_its_test_split(runs, capsys):
    run, student = runs["student"]
    out = os.path.join(runs["tmp"], "eval-student")
    assert main(["evaluate", run.path, "--out", out]) == 0, capsys.readouterr().err
    report = json.load(open(os.path.join(out, "report.json")))
    test = load_run_data(runs["cfg"]).splits.test
    predicted = _forward(student, runs["tok"], test.texts).argmax(-1)
    expected = classification_report([LABELS.index(y) for y in test.labels], predicted.tolist(), LABELS)
    assert report["model_kind"] == "run" and report["num_examples"] == len(test.texts) == 8
    assert report["confusion_matrix"] == expected["confusion_matrix"]


def test_export_a_distilled_run_and_evaluate_the_export(runs, capsys):
    run, student = runs["student"]
    root = os.path.join(runs["tmp"], "sm")
    assert main(["export", run.path, "--out", root, "--tokenizer", "core"]) == 0, capsys.readouterr().err
    from tfbig.export.loader import SavedClassifier

    clf = SavedClassifier(root)
    assert clf.labels == LABELS and clf.version == 1 and "student:" in clf.config_text
    texts = ["the club win the game", "bank shares and market growth", "players in the game"]
    np.testing.assert_allclose(clf.predict(texts).probabilities, _forward(student, runs["tok"], texts),
                               atol=1e-5, rtol=0)
    assert not any(".lock" in files for _, _, files in os.walk(root))
    out = os.path.join(runs["tmp"], "eval-export")
    assert main(["evaluate", root, "--data", runs["data"], "--out", out]) == 0
    assert json.load(open(os.path.join(out, "report.json")))["model_kind"] == "saved_model"


def test_a_distilled_run_whose_teacher_is_gone_names_it(runs, tmp_path):
    run, _ = runs["student"]
    cfg = run.read_config()
    cfg.distill.teachers = [str(tmp_path / "moved")]
    moved = RunFolder(str(tmp_path / "student"))
    moved.write_config(cfg)
    moved.write_labels(LABELS)
    for name in os.listdir(run.path):
        if name.startswith("final.weights"):
            os.link(os.path.join(run.path, name), os.path.join(moved.path, name))
    from tfbig.errors import UserError

    with pytest.raises(UserError, match=r"^a distilled student is rebuilt from its teacher \(distill.teachers\[0\]\): "
                                        f"run folder not found: {tmp_path / 'moved'}$"):
        moved.load_model()
