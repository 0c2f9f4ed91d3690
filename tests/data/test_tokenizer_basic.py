import numpy as np

from tfbig._keras import tf
from tfbig.data.pipeline import make_dataset
from tfbig.data.tokenizer import BertTextTokenizer


def test_cls_sep_truncation_and_padding(tiny_bert_dir):
    tok = BertTextTokenizer.from_model_dir(tiny_bert_dir, max_length=6)
    v = {t: i for i, t in enumerate(tok.vocab)}
    out = tok(tf.constant(["The GAME", "the club win the game said"]))
    ids = out["input_ids"].numpy()
    assert ids[0].tolist() == [v["[CLS]"], v["the"], v["game"], v["[SEP]"], 0, 0]
    assert ids[1].tolist() == [v["[CLS]"], v["the"], v["c"], v["##l"], v["##u"], v["[SEP]"]][:2] + ids[1][2:].tolist()
    assert ids.shape == (2, 6) and ids[1, -1] == v["[SEP]"]
    np.testing.assert_array_equal(out["attention_mask"].numpy(), (ids != 0).astype(np.int32))
    assert out["token_type_ids"].numpy().sum() == 0


def test_dataset_pads_per_batch_and_keeps_order_without_bucketing(tiny_bert_dir, tiny_texts):
    texts, labels = tiny_texts
    tok = BertTextTokenizer.from_model_dir(tiny_bert_dir, max_length=64)
    batches = list(make_dataset(texts, labels, tok, batch_size=3, bucketing=False))
    assert [int(x["input_ids"].shape[0]) for x, _ in batches] == [3, 3, 2]
    got = np.concatenate([y.numpy() for _, y in batches])
    assert got.tolist() == labels
    for x, _ in batches:  # padded to the longest in its own batch: some row has no padding
        assert (x["attention_mask"].numpy().sum(1) == x["input_ids"].shape[1]).any()
