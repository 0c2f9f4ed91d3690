"""Tiny teachers and students for the distillation tests: random HF BERT folders of different sizes."""
import pytest

from tfbig._keras import tf
from tfbig.data.tokenizer import BertTextTokenizer
from tfbig.testing import write_tiny_bert_folder


@pytest.fixture(scope="session")
def teacher_dir(tmp_path_factory):
    """2 layers × 32, 2 heads."""
    return write_tiny_bert_folder(str(tmp_path_factory.mktemp("teacher")), seed=1)


@pytest.fixture(scope="session")
def student_dir(tmp_path_factory):
    """1 layer × 16, 1 head: narrower and shallower than the teacher."""
    return write_tiny_bert_folder(str(tmp_path_factory.mktemp("student")), seed=2, hidden_size=16,
                                  num_hidden_layers=1, num_attention_heads=1, intermediate_size=32)


@pytest.fixture(scope="session")
def tokenizer(teacher_dir):
    return BertTextTokenizer.from_model_dir(teacher_dir, max_length=16)


@pytest.fixture
def batch(tiny_texts, tokenizer):
    """All 8 toy texts as one padded batch: (features, labels)."""
    texts, labels = tiny_texts
    return tokenizer(tf.constant(texts)), tf.constant(labels, tf.int32)
