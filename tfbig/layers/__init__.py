"""Keras layers of a BERT-style Transformer encoder: embeddings, self-attention, feed-forward, block, pooler."""
from tfbig.layers.attention import MultiHeadSelfAttention
from tfbig.layers.dropout import Dropout16
from tfbig.layers.embeddings import BertEmbeddings
from tfbig.layers.encoder_block import TransformerEncoderBlock
from tfbig.layers.feed_forward import FeedForward
from tfbig.layers.initializers import bert_initializer
from tfbig.layers.pooler import Pooler

__all__ = ["BertEmbeddings", "Dropout16", "MultiHeadSelfAttention", "FeedForward", "TransformerEncoderBlock", "Pooler",
           "bert_initializer"]
