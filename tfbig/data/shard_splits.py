"""A shard folder as the trainer's data: its own train/val/test splits streamed, or all records for a split."""
import logging
from dataclasses import dataclass, field

from tfbig.data.text_files import Examples
from tfbig.data.shard_format import is_shard_dir, list_shards, read_labels, split_folders
from tfbig.data.split import Splits

log = logging.getLogger(__name__)


@dataclass
class ShardSplit:
    """One split kept on disk: its shard files; len() counts the records once (a pass that parses nothing)."""

    files: list
    _count: int | None = field(default=None, repr=False)

    def __len__(self) -> int:
        if self._count is None:
            from tfbig.data.shard_reader import count_records

            self._count = count_records(self.files) if self.files else 0
        return self._count


def is_shard_source(data_cfg) -> bool:
    return data_cfg.format == "tfrecord" or (data_cfg.format == "auto" and is_shard_dir(data_cfg.source))


def presplit_shards(data_cfg) -> Splits | None:
    """Splits of a shard folder with train/ (val/, test/) subfolders; None for any other source."""
    if not is_shard_source(data_cfg):
        return None
    folders = split_folders(data_cfg.source)
    if not folders:
        return None
    files = {s: list_shards(f) for s, f in folders.items()}
    if "test" not in files:
        log.warning("%s has no test/ split: the test report will be empty", data_cfg.source)
    return Splits(*(ShardSplit(files.get(s, [])) for s in ("train", "val", "test")), read_labels(data_cfg.source))


def read_shard_examples(path: str, on_error: str = "raise") -> Examples:
    """Every record of a shard folder (all splits if it has them) into memory, for the usual clean + split."""
    from tfbig.data.shard_reader import read_shards

    labels = read_labels(path)
    folders = split_folders(path) or {"": path}
    files = [f for folder in folders.values() for f in list_shards(folder)]
    out = Examples()
    for text, label_id in read_shards(files, labels, on_error=on_error).as_numpy_iterator():
        out.add(text.decode("utf-8"), labels[label_id])
    return out
