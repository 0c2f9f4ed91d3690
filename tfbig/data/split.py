"""Stratified, seeded train/validation/test split and the label vocabulary."""
from collections import Counter
from dataclasses import dataclass

from sklearn.model_selection import train_test_split

from tfbig.data.text_files import Examples
from tfbig.errors import UserError


@dataclass
class Splits:
    train: Examples
    val: Examples
    test: Examples
    labels: list  # class names; a label's id is its index


def label_vocabulary(labels) -> list:
    return sorted(set(labels))


def stratified_split(examples: Examples, test_fraction: float = 0.2, val_fraction: float = 0.1,
                     seed: int = 0) -> Splits:
    """Splits off `test_fraction` of all examples, then `val_fraction` of all from the rest, by class."""
    counts = Counter(examples.labels)
    parts = 2 + (val_fraction > 0)
    for label, n in sorted(counts.items()):
        if n < parts:
            raise UserError(f"class '{label}' has {n} example(s); a stratified split needs at least {parts}")
    if len(counts) < 2:
        raise UserError(f"a classifier needs at least 2 classes; found {list(counts)}")
    index = list(range(len(examples)))
    rest, test = _split(index, examples.labels, test_fraction, seed)
    if val_fraction > 0:
        rest_labels = [examples.labels[i] for i in rest]
        train, val = _split(rest, rest_labels, val_fraction / (1 - test_fraction), seed)
    else:
        train, val = rest, []
    return Splits(_take(examples, train), _take(examples, val), _take(examples, test),
                  label_vocabulary(examples.labels))


def hold_out(examples: Examples, fraction: float, seed: int = 0) -> tuple[Examples, Examples]:
    """Splits `examples` into (rest, held out), the held-out part `fraction` of them, stratified by class."""
    for label, n in sorted(Counter(examples.labels).items()):
        if n < 2:
            raise UserError(f"class '{label}' has {n} example(s); holding out a stratified part needs at least 2")
    rest, held = _split(list(range(len(examples))), examples.labels, fraction, seed)
    return _take(examples, rest), _take(examples, held)


def limit_per_class(examples: Examples, n: int) -> Examples:
    """The first `n` examples of each class, in order; n <= 0 keeps all (smoke runs)."""
    if n <= 0:
        return examples
    out, seen = Examples(skipped=examples.skipped), {}
    for text, label in zip(examples.texts, examples.labels):
        if seen.get(label, 0) < n:
            seen[label] = seen.get(label, 0) + 1
            out.add(text, label)
    return out


def _split(index, labels, fraction, seed):
    try:
        return train_test_split(index, test_size=fraction, stratify=labels, random_state=seed)
    except ValueError as e:
        raise UserError(f"cannot split {len(index)} examples with fraction {fraction:.3f}: {e}") from None


def _take(examples: Examples, index) -> Examples:
    out = Examples()
    for i in sorted(index):
        out.add(examples.texts[i], examples.labels[i])
    return out
