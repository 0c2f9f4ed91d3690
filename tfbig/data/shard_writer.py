"""Writes labelled text into TFRecord shards in constant memory: `tfbig shard INPUT --out DIR --num-shards N`.

Examples are streamed from the input (tfbig.data.text_streams), cleaned as tfbig.data.clean does (NFC, spaces;
empty texts dropped; duplicates are not removed, which would need memory in proportion to the data), and
dealt round-robin to N files, so shards are of equal size and each holds every class. With val/test
fractions, each example goes to DIR/train, DIR/val or DIR/test by a seeded hash of its text: the same text
always lands in the same split, with no table kept. Files are written under temporary names and renamed
when complete, labels.txt last, so a folder with labels.txt is a finished one.

With label_column "" the input is an unlabelled corpus read by tfbig.data.corpus (plain text, JSONL, .gz/.bz2,
folders): records hold `text` only and labels.txt is written empty.
"""
import logging

from tfbig._keras import tf
from tfbig.data.clean import normalize_text
from tfbig.data.hash_split import HASH_BITS, split_hash
from tfbig.data.shard_format import LABELS_FILE, SPLITS, encode_example, shard_name
from tfbig.data.text_streams import Skipped, iter_examples
from tfbig.errors import UserError

log = logging.getLogger(__name__)


def split_of(text: str, val_fraction: float, test_fraction: float, seed: int) -> str:
    """train | val | test for a text, from a seeded hash: stable across runs and machines, and the same
    assignment as the Spark job's (tfbig.data.hash_split), so both write the same splits."""
    scale = 1 << HASH_BITS
    h = split_hash(text, seed)
    return ("test" if h < int(round(test_fraction * scale))
            else "val" if h < int(round((test_fraction + val_fraction) * scale)) else "train")


class _ShardSet:
    """N open TFRecord writers under temporary names in one folder, filled round-robin."""

    def __init__(self, folder: str, num_shards: int):
        tf.io.gfile.makedirs(folder)
        self.final = [f"{folder}/{shard_name(i, num_shards)}" for i in range(num_shards)]
        self.temp = [f"{folder}/.{shard_name(i, num_shards)}.tmp" for i in range(num_shards)]
        self.writers = [tf.io.TFRecordWriter(p) for p in self.temp]
        self.count = 0

    def write(self, record: bytes) -> None:
        self.writers[self.count % len(self.writers)].write(record)
        self.count += 1

    def close(self, commit: bool) -> None:
        for w in self.writers:
            w.close()
        for temp, final in zip(self.temp, self.final):
            if commit:
                tf.io.gfile.rename(temp, final, overwrite=True)
            elif tf.io.gfile.exists(temp):
                tf.io.gfile.remove(temp)


def _check_out_dir(out_dir: str) -> None:
    if not tf.io.gfile.isdir(out_dir):
        return
    for folder in [out_dir] + [f"{out_dir}/{s}" for s in SPLITS]:
        if tf.io.gfile.isdir(folder) and any(n.startswith("part-") for n in tf.io.gfile.listdir(folder)):
            raise UserError(f"{folder} already holds shard files; give an empty or new --out folder")


def write_shards(source: str, out_dir: str, num_shards: int, fmt: str = "auto", text_column: str = "text",
                 label_column: str = "label", on_error: str = "raise", val_fraction: float = 0.0,
                 test_fraction: float = 0.0, seed: int = 0, progress: bool = True, documents: str = "file") -> dict:
    """Streams `source` into `out_dir`; returns counts: records per split, labels, empty and skipped.

    label_column: str. "" reads `source` as an unlabelled corpus (documents: file | blank_line, as data.documents).
    """
    if num_shards < 1:
        raise UserError(f"--num-shards must be at least 1, got {num_shards}")
    if on_error not in ("raise", "skip"):
        raise UserError(f"on_error must be raise or skip, got '{on_error}'")
    if val_fraction < 0 or test_fraction < 0 or val_fraction + test_fraction >= 1:
        raise UserError(f"val fraction {val_fraction} and test fraction {test_fraction} must be >= 0 "
                        "and sum to less than 1")
    out_dir = out_dir.rstrip("/")
    _check_out_dir(out_dir)
    presplit = val_fraction > 0 or test_fraction > 0
    skipped, labels, empty = Skipped(), set(), 0
    if label_column:
        examples = iter_examples(source, fmt, text_column, label_column, on_error, skipped)
    else:  # an unlabelled corpus, in any format the pretraining reader takes
        from tfbig.data.corpus import raw_documents

        examples = ((text, None) for text in raw_documents(source, text_column, documents))
    shard_sets = {}
    committed = False
    try:
        from tqdm import tqdm

        for text, label in tqdm(examples, unit=" records", disable=not progress, desc=f"sharding {source}"):
            text = normalize_text(text)
            if not text:
                empty += 1
                continue
            split = split_of(text, val_fraction, test_fraction, seed) if presplit else ""
            if split not in shard_sets:
                shard_sets[split] = _ShardSet(f"{out_dir}/{split}" if split else out_dir, num_shards)
            shard_sets[split].write(encode_example(text, label))
            labels.add(label)
        if not labels:
            raise UserError(f"{source} holds no examples")
        committed = True
    finally:
        for shard_set in shard_sets.values():
            shard_set.close(commit=committed)
    if presplit and "train" not in shard_sets:
        raise UserError(f"no example of {source} fell into the train split")
    with tf.io.gfile.GFile(f"{out_dir}/{LABELS_FILE}", "w") as f:
        f.write("".join(f"{label}\n" for label in sorted(labels - {None})))
    summary = {"records": {s or "all": w.count for s, w in shard_sets.items()}, "shards": num_shards,
               "labels": sorted(labels - {None}), "empty": empty, "skipped": skipped.total}
    if skipped.total:
        log.warning("skipped %d malformed records: %s", skipped.total, skipped.by_file)
    log.info("sharded %s into %s: %s", source, out_dir, summary)
    return summary
