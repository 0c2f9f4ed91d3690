"""Data that comes pre-split: data.train, data.test and optionally data.validation, each a path in any format.

`read_given_parts` is what every task shares: each file read and cleaned on its own by the task's reader,
then the cross-split leaks dropped. `read_given_splits` is classification's whole path (labelled classes read
with `read_path`); other tasks finish the parts in `Task.read_given` (tfbig.tasks.base).
"""
import logging

from tfbig.config import check_given_splits
from tfbig.data.clean import clean
from tfbig.data.text_files import Examples
from tfbig.data.sources import read_path
from tfbig.data.split import Splits, hold_out, label_vocabulary, limit_per_class
from tfbig.errors import UserError

log = logging.getLogger(__name__)


def given_paths(data_cfg) -> dict:
    """{split name: path} of the given files ("train", "validation" when given, "test"); {} without data.train."""
    check_given_splits(data_cfg)
    if not data_cfg.train:
        return {}
    paths = {"train": data_cfg.train, "validation": data_cfg.validation, "test": data_cfg.test}
    return {name: path for name, path in paths.items() if path}


def read_given_parts(paths: dict, read) -> tuple[dict, dict]:
    """({split name: Examples}, stats) of the given files, each read and cleaned by `read(path)` → (Examples,
    cleaning stats), then the leaks between them dropped (`drop_leaks`).

    stats: each split's cleaning counts under its name, "leaks_dropped" and "given_splits" (the paths).
    """
    parts, stats = {}, {"given_splits": dict(paths)}
    for name, path in paths.items():
        log.info("reading the %s split: %s", name, path)
        parts[name], stats[name] = read(path)
    parts, stats["leaks_dropped"] = drop_leaks(parts, paths)
    return parts, stats


def drop_leaks(parts: dict, paths: dict) -> tuple[dict, dict]:
    """The parts with every example that a later split also holds dropped from the earlier one: from train when
    validation or test has it, from validation when test has it. Kept, it would be trained on (or selected on)
    and then scored as unseen. An example is judged as cleaning judged it: on its text, on the (text, text_pair)
    pair, on a tagged sentence's words. Returns (parts, {"train": n, "validation": n dropped}), order kept."""
    test = _keys(parts["test"])
    later = test | (_keys(parts["validation"]) if "validation" in parts else set())
    out, leaks = dict(parts), {}
    out["train"], leaks["train"] = _drop(parts["train"], later)
    if "validation" in parts:
        out["validation"], leaks["validation"] = _drop(parts["validation"], test)
    for name, n in leaks.items():
        if n:
            log.warning("dropped %d example(s) from the %s split (%s) that a later split also holds", n, name,
                        paths[name])
    return out, leaks


def require_examples(parts: dict, paths: dict) -> None:
    for name in ("train", "test"):
        if not len(parts[name]):
            raise UserError(f"{paths[name]}: the {name} split holds no examples after cleaning")


def read_given_splits(data_cfg) -> tuple[Splits, dict] | None:
    """Reads, cleans and checks the given splits of `data_cfg` (a DataConfig) as labelled classes; None when
    data.train is empty.

    Each split is cleaned on its own (tfbig.data.clean), then the leaks are dropped (`drop_leaks`). Then
    data.limit_per_class is applied to each split, and without a validation file data.val_fraction of train is
    held out (stratified, seeded with data.seed). The label vocabulary is train's; a label that only validation
    or test holds is a UserError naming it and the file.

    Returns:
        (Splits, stats): stats has each split's cleaning counts under its name ("train", "validation",
        "test"), "leaks_dropped" ({"train": n, "validation": n}), "validation_held_out" (the fraction of
        train held out, 0 when a file was given) and "given_splits" (the paths).
    """
    paths = given_paths(data_cfg)
    if not paths:
        return None
    parts, stats = read_given_parts(paths, lambda path: clean(read_path(path, data_cfg)))

    parts = {name: limit_per_class(examples, data_cfg.limit_per_class) for name, examples in parts.items()}
    require_examples(parts, paths)
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


def _keys(examples: Examples) -> set:
    return {_key(examples, i) for i in range(len(examples))}


def _key(examples: Examples, i: int):
    # "\x00" never occurs inside a cleaned word: words ["a b"] and ["a", "b"] stay apart, as in clean_tagged.
    return "\x00".join(examples.words[i]) if examples.words else examples.texts[i]


def _drop(examples: Examples, keys: set) -> tuple[Examples, int]:
    out = Examples(skipped=examples.skipped)
    for i in range(len(examples)):
        if _key(examples, i) in keys:
            continue
        if examples.words:
            out.add_words(examples.words[i], examples.labels[i])
        else:
            out.add(examples.texts[i], examples.labels[i])
    return out, len(examples) - len(out)


def _check_labels(examples: Examples, labels: list, name: str, path: str, train_path: str) -> None:
    unseen = sorted(set(examples.labels) - set(labels))
    if unseen:
        raise UserError(f"{path}: label(s) {', '.join(repr(u) for u in unseen)} of the {name} split never appear "
                        f"in the train split ({train_path})")
