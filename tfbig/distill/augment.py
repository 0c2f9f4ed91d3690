"""TinyBERT-style augmentation (Jiao et al., 2020) of a labelled training split, for task distillation.

Each training text gets `copies` variants in which every word, with probability `rate`, is changed: half the
time replaced by another word of the training texts (drawn in proportion to its frequency), half the time
dropped (a gap; a literal "[MASK]" in the text would be tokenized as "[", "mask", "]", not as the mask token).
TinyBERT draws its replacements from BERT's masked-LM predictions and GloVe neighbours; the training split's
own words keep this free of another model and of any text outside the split. Only training texts are read:
validation and test texts are never used. A text whose words are all dropped keeps its first word.

The variants keep their source's label (the hard term) and get the teacher's soft targets like any training
example; seeded, so a run and its resume see the same split (and the teacher-logit cache stays valid).
"""
import random

from tfbig.data.text_files import Examples
from tfbig.errors import UserError


def augment_examples(train, copies: int, rate: float, seed: int = 0):
    """`train` (Examples) followed by `copies` variants of each of its texts, in order: text 0's variants first."""
    if copies < 0 or not 0 < rate <= 1:
        raise UserError(f"distill.augment_copies must be ≥ 0 and distill.augment_rate in (0, 1]; got {copies}, {rate}")
    if not isinstance(train, Examples):
        raise UserError("distill.augment_copies needs a training split of texts and labels (a CSV/JSONL/folder "
                        f"source); this one is {type(train).__name__}")
    rng = random.Random(seed)
    pool = [w for text in train.texts for w in text.split()]
    out = Examples(list(train.texts), list(train.labels))
    if not pool:
        return out
    for text, label in zip(train.texts, train.labels):
        words = text.split()
        for _ in range(copies):
            new = []
            for w in words:
                if rng.random() >= rate:
                    new.append(w)
                elif rng.random() < 0.5:
                    new.append(rng.choice(pool))
            out.add(" ".join(new or words[:1]), label)
    return out
