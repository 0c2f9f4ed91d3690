"""The public API: `import tfbig` is TensorFlow-free, every public name resolves, the docstring's example runs,
and `TaskModel.from_pretrained` gives a pretrained backbone with a fresh head."""
import doctest
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import tfbig
from tfbig.errors import UserError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_import_tfbig_is_fast_and_imports_no_tensorflow():
    code = ("import sys, time; t = time.perf_counter(); import tfbig; dt = time.perf_counter() - t; "
            "print(dt, sorted(m for m in ('tensorflow', 'tf_keras', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": ROOT}, check=True).stdout.split(maxsplit=1)
    assert float(out[0]) < 1.0 and out[1].strip() == "[]"


def test_every_public_name_resolves_and_has_a_docstring():
    assert tfbig.__all__[0] == "__version__" and len(set(tfbig.__all__)) == len(tfbig.__all__)
    for name in tfbig.__all__[1:]:
        value = getattr(tfbig, name)
        assert set(tfbig.__all__) <= set(dir(tfbig))
        if name not in ("tf", "keras"):  # modules of TensorFlow's
            assert (value.__doc__ or "").strip(), f"tfbig.{name} has no docstring"
    assert tfbig.keras.__name__ == "tf_keras"  # Keras 2, as every tfbig model
    with pytest.raises(AttributeError, match="no attribute 'prepare'"):
        tfbig.prepare  # noqa: B018


class WithoutFitLines(doctest.OutputChecker):
    """Compares an example's output without fit's epoch lines ("2/2 - 3s - loss: ..."): they are progress,
    not the example's result, and their timings change from run to run."""

    def check_output(self, want, got, optionflags):
        got = "".join(line for line in got.splitlines(True) if not re.match(r"\d+/\d+ - ", line))
        return super().check_output(want, got, optionflags)


def test_the_package_docstring_examples_run(tmp_path, tiny_bert_dir):
    data = tmp_path / "data"
    for label, texts in (("sport", ["the club win the game", "players win a game", "the best players in the club",
                                    "a game to win", "club players win", "the game of the year"]),
                         ("market", ["bank shares and market growth", "the market price of shares",
                                     "sales growth for the firm", "the bank said shares fell", "market shares price",
                                     "the firm sales growth"])):
        (data / label).mkdir(parents=True)
        for i, text in enumerate(texts):
            (data / label / f"{i}.txt").write_text(text)
    parser, runner = doctest.DocTestParser(), doctest.DocTestRunner(checker=WithoutFitLines())
    test = parser.get_doctest(tfbig.__doc__, {"tmp": tmp_path, "data": str(data)}, "tfbig", "tfbig/__init__.py", 0)
    assert len(test.examples) >= 10
    outcome = runner.run(test)
    assert outcome.failed == 0 and outcome.attempted == len(test.examples)


def test_from_pretrained_loads_the_backbone_and_a_head_of_the_asked_size(tiny_bert_dir, tiny_texts):
    reference = tfbig.build_backbone("tfbig", tiny_bert_dir)
    model = tfbig.TaskModel.from_pretrained(tiny_bert_dir, num_labels=3)
    assert model.task.name == "classification" and model.task.labels == ["0", "1", "2"]
    reference(_features())
    for ours, theirs in zip(model.backbone.weights, reference.weights):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())  # the checkpoint's weights, not random ones
    assert model.head.dense.kernel.shape == (32, 3)
    texts, labels = tiny_texts
    tokenizer = tfbig.BertTextTokenizer.from_model_dir(tiny_bert_dir, max_length=16)
    out = tfbig.predict_outputs(model, texts, tokenizer, batch_size=4)
    assert out.shape == (len(texts), 3)


def test_from_pretrained_takes_a_task_or_labels_and_refuses_a_head_without_a_size(tiny_bert_dir):
    task = tfbig.get_task("classification", ["neg", "pos"])
    assert tfbig.TaskModel.from_pretrained(tiny_bert_dir, task=task).head.dense.kernel.shape == (32, 2)
    named = tfbig.TaskModel.from_pretrained(tiny_bert_dir, labels=["a", "b", "c", "d"], dropout=0.0)
    assert named.task.labels == ["a", "b", "c", "d"] and named.head.rate == 0.0
    with pytest.raises(UserError, match="num_labels 3 does not match the 2 labels"):
        tfbig.TaskModel.from_pretrained(tiny_bert_dir, num_labels=3, labels=["a", "b"])
    with pytest.raises(UserError, match="give num_labels or labels"):
        tfbig.TaskModel.from_pretrained(tiny_bert_dir)
    with pytest.raises(UserError, match="model folder not found"):
        tfbig.TaskModel.from_pretrained("/no/such/model", num_labels=2)


def _features():
    ids = tfbig.tf.ones([1, 8], tfbig.tf.int32)
    return {"input_ids": ids, "attention_mask": ids, "token_type_ids": tfbig.tf.zeros_like(ids)}


def test_no_public_name_is_also_a_module_of_tfbig():
    """A submodule import sets `tfbig.<module>` over a public name of the same spelling (tfbig.serve)."""
    import pkgutil

    modules = {m.name for m in pkgutil.iter_modules(tfbig.__path__)}
    assert modules & set(tfbig.__all__) == set()
