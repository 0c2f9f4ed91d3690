"""Data that comes pre-split: data.train, data.test and optionally data.validation, each a path in any format."""
import logging

from tfbig.config import check_given_splits
from tfbig.data.clean import clean
from tfbig.data.text_files import Examples
from tfbig.data.sources import read_path
from tfbig.data.split import Splits, hold_out, label_vocabulary, limit_per_class
from tfbig.errors import UserError

log = logging.getLogger(__name__)


def read_given_splits(data_cfg) -> tuple[Splits, dict] | None:
    """Reads, cleans and checks the given splits of `data_cfg` (a DataConfig); None when data.train is empty.

    Each split is cleaned on its own (tfbig.data.clean), then a text that a later split also holds is
    dropped from the earlier one: from train when validation or test has it, from validation when test has
    it. Kept, it would be trained on (or selected on) and then scored as unseen. Then data.limit_per_class
    is applied to each split, and without a validation file data.val_fraction of train is held out
    (stratified, seeded with data.seed). The label vocabulary is train's; a label that only validation or
    test holds is a UserError naming it and the file.

    Returns:
        (Splits, stats): stats has each split's cleaning counts under its name ("train", "validation",
        "test"), "leaks_dropped" ({"train": n, "validation": n}), "validation_held_out" (the fraction of
        train held out, 0 when a file was given) and "given_splits" (the paths).
    """
    check_given_splits(data_cfg)
    if not data_cfg.train:
        return None
    paths = {"train": data_cfg.train, "validation": data_cfg.validation, "test": data_cfg.test}
    paths = {name: path for name, path in paths.items() if path}
    parts, stats = {}, {"given_splits": dict(paths)}
    for name, path in paths.items():
        log.info("reading the %s split: %s", name, path)
        parts[name], stats[name] = clean(read_path(path, data_cfg))

    leaks = {}
    later = set(parts["test"].texts) | set(parts["validation"].texts if "validation" in parts else ())
    parts["train"], leaks["train"] = _drop_texts(parts["train"], later)
    if "validation" in parts:
        parts["validation"], leaks["validation"] = _drop_texts(parts["validation"], set(parts["test"].texts))
    for name, n in leaks.items():
        if n:
            log.warning("dropped %d text(s) from the %s split (%s) that a later split also holds", n, name,
                        paths[name])
    stats["leaks_dropped"] = leaks

    parts = {name: limit_per_class(examples, data_cfg.limit_per_class) for name, examples in parts.items()}
    for name in ("train", "test"):
        if not len(parts[name]):
            raise UserError(f"{paths[name]}: the {name} split holds no examples after cleaning")
    labels = label_vocabulary(parts["train"].labels)
    if len(labels) < 2:
        raise UserError(f"{paths['train']}: a classifier needs at least 2 classes in train; found {labels}")
    for name in ("validation", "test"):
        if name in parts:
            _check_labels(parts[name], labels, name, paths[name], paths["train"])

    if "validation" in parts:
        train, val, fraction = parts["train"], parts["validation"], 0.0
    elif data_cfg.val_fraction > 0:
        fraction = data_cfg.val_fraction
        train, val = hold_out(parts["train"], fraction, data_cfg.seed)
    else:
        train, val, fraction = parts["train"], Examples(), 0.0
    stats["validation_held_out"] = fraction
    log.info("given splits: %d train, %d validation%s, %d test; labels %s", len(train), len(val),
             f" (held out of train, {fraction:g})" if fraction else "", len(parts["test"]), labels)
    return Splits(train, val, parts["test"], labels), stats


def _drop_texts(examples: Examples, texts: set) -> tuple[Examples, int]:
    out = Examples(skipped=examples.skipped)
    for text, label in zip(examples.texts, examples.labels):
        if text not in texts:
            out.add(text, label)
    return out, len(examples) - len(out)


def _check_labels(examples: Examples, labels: list, name: str, path: str, train_path: str) -> None:
    unseen = sorted(set(examples.labels) - set(labels))
    if unseen:
        raise UserError(f"{path}: label(s) {', '.join(repr(u) for u in unseen)} of the {name} split never appear "
                        f"in the train split ({train_path})")
