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


def group_split(groups: list, test_fraction: float, val_fraction: float, seed: int = 0) -> tuple:
    """(train, val, test) index lists of len(groups) examples, each split holding every group in the whole's
    proportion to within one example (regression data stratified by its domain, say); seeded, sorted."""
    import math

    import numpy as np

    n = len(groups)
    sizes = [math.ceil(test_fraction * n), math.ceil(val_fraction * n) if val_fraction > 0 else 0]
    if n < 3 or sum(sizes) >= n:
        raise UserError(f"cannot split {n} examples into train, validation and test "
                        f"(test {test_fraction}, validation {val_fraction})")
    members = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    names = sorted(members, key=str)
    counts = [len(members[g]) for g in names]
    test = _apportion([c * sizes[0] / n for c in counts], [0] * len(counts), counts, sizes[0])
    train_share = [c * (n - sum(sizes)) / n for c in counts]
    low = [max(math.floor(c * sizes[1] / n), c - t - math.ceil(s)) for c, t, s in zip(counts, test, train_share)]
    high = [min(math.ceil(c * sizes[1] / n), c - t - math.floor(s)) for c, t, s in zip(counts, test, train_share)]
    val = _apportion([c * sizes[1] / n for c in counts], [max(0, lo) for lo in low], high, sizes[1])
    if sum(val) != sizes[1]:  # no choice keeps train within one too: keep validation's shares
        val = _apportion([c * sizes[1] / n for c in counts], [0] * len(counts),
                         [c - t for c, t in zip(counts, test)], sizes[1])
    rng = np.random.default_rng(seed)
    out = ([], [], [])
    for g, t, v in zip(names, test, val):
        order = [members[g][j] for j in rng.permutation(len(members[g]))]
        out[2].extend(order[:t])
        out[1].extend(order[t:t + v])
        out[0].extend(order[t + v:])
    return tuple(sorted(part) for part in out)


def _apportion(shares: list, low: list, high: list, total: int) -> list:
    """Integers between low and high (per entry) summing to `total`, the largest remainders of `shares` first."""
    import math

    out = [min(max(math.floor(s), lo), hi) for s, lo, hi in zip(shares, low, high)]
    by_remainder = sorted(range(len(shares)), key=lambda k: (out[k] - shares[k], k))
    while sum(out) < total:
        k = next((k for k in by_remainder if out[k] < high[k]), None)
        if k is None:
            break
        out[k] += 1
        by_remainder.remove(k)
    return out
