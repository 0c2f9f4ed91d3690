"""TaskModel(pooling=...): the head reads the chosen vector; a run with model.pooling=mean trains, rebuilds and
exports with it."""
import numpy as np
import pytest

from tfbig._keras import keras, tf
from tfbig.errors import UserError


def _features(tokenizer):
    return tokenizer(tf.constant(["the club win the game", "bank shares fell after the market closed today"]))


def test_mean_pooling_feeds_the_head_the_masked_mean(tiny_bert_dir):
    from tfbig.data.tokenizer import BertTextTokenizer
    from tfbig.train.task_model import TaskModel

    keras.utils.set_random_seed(0)
    model = TaskModel.from_pretrained(tiny_bert_dir, task="classification", labels=["a", "b"], pooling="mean",
                                      dropout=0.0)
    x = _features(BertTextTokenizer.from_model_dir(tiny_bert_dir, 16))
    states = model.backbone(x, training=False)["sequence_output"].numpy()
    mask = x["attention_mask"].numpy()[:, :, None].astype(np.float32)
    mean = (states * mask).sum(1) / mask.sum(1)
    assert mask.sum() < mask.size  # the short text is padded: the mean must skip those positions
    kernel, bias = model.head.get_weights()
    np.testing.assert_allclose(model(x, training=False).numpy(), mean @ kernel + bias, atol=1e-5)
    assert not model.backbone.pooler.trainable and model.get_config()["pooling"] == "mean"
    assert not any("pooler" in w.name for w in model.trainable_weights)
    with pytest.raises(UserError, match="model.pooling"):
        TaskModel.from_pretrained(tiny_bert_dir, task="classification", labels=["a", "b"], pooling="max")


def test_a_mean_pooled_run_rebuilds_and_exports_the_same_outputs(tmp_path, tiny_bert_dir):
    from tfbig.config import load_config
    from tfbig.data.tokenizer import BertTextTokenizer
    from tfbig.jobs.train_job import train_run
    from tfbig.runs.folder import RunFolder
    from tfbig.testing import tiny_run_overrides, write_tiny_folder_dataset

    data = write_tiny_folder_dataset(str(tmp_path / "data"))
    sets = tiny_run_overrides(str(tmp_path), data, tiny_bert_dir, "meanpool", **{
        "model.pooling": "mean", "train.epochs": 1, "train.baseline": "false", "train.precision": "float32"})
    report = train_run(load_config(None, sets))
    rebuilt = RunFolder(str(tmp_path / "runs" / "meanpool")).load_model()
    assert rebuilt.pooling == "mean"
    tok = BertTextTokenizer.from_model_dir(tiny_bert_dir, 32)
    texts = ["the club win the game", "bank shares fell after the market closed today"]
    expected = tf.nn.softmax(rebuilt(tok(tf.constant(texts)), training=False)).numpy()
    served = tf.saved_model.load(report["export"]).signatures["serving_default"](text=tf.constant(texts))
    np.testing.assert_allclose(served["probabilities"].numpy(), expected, atol=1e-5)
