"""data.source vader: the VADER ground truth read from the vaderSentiment 3.3.2 sdist, in memory."""
import io
import os
import sys
import tarfile
from collections import Counter

import pytest

from tfbig.config import load_config
from tfbig.data import vader
from tfbig.errors import UserError


def _tar_bytes(files: dict) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _fake_sdist(folder, tweets=b"1\t2.5\tso happy today\n2\t-1.25\tawful service\n") -> str:
    inner = {f"hutto_ICWSM_2014/{d}_GroundTruth.txt": b"1\t0.5\ta text\n" for d in vader.DOMAINS.values()}
    inner["hutto_ICWSM_2014/tweets_GroundTruth.txt"] = tweets
    path = os.path.join(folder, vader.ARCHIVE)
    with open(path, "wb") as f:
        f.write(_tar_bytes({f"vaderSentiment-3.3.2/{vader.INNER}": _tar_bytes(inner)}))
    return path


def test_the_archive_is_read_in_memory_and_each_source_picks_its_domains(tmp_path, monkeypatch):
    _fake_sdist(str(tmp_path))
    monkeypatch.setenv("TFBIG_DATA", str(tmp_path))
    tweets = vader.read_vader("vader_tweets")
    assert tweets.texts == ["so happy today", "awful service"] and tweets.labels == [(2.5,), (-1.25,)]
    assert len(vader.read_vader("vader")) == 5 and os.listdir(tmp_path) == [vader.ARCHIVE]  # nothing unpacked
    with pytest.raises(UserError, match="'vader_reddit' is not one of vader, vader_tweets"):
        vader.read_vader("vader_reddit")


def test_a_malformed_line_names_the_file_and_line(tmp_path):
    path = _fake_sdist(str(tmp_path), tweets=b"1\t2.5\tfine\n2\tgood\tnot a rating\n")
    with pytest.raises(UserError, match=r"tweets_GroundTruth.txt, line 2: not 'id<TAB>rating<TAB>text'"):
        vader.read_domains(path)


def test_a_missing_archive_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("TFBIG_DATA", str(tmp_path))
    monkeypatch.setenv("TFBIG_CACHE", str(tmp_path))
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    with pytest.raises(UserError, match="make setup"):
        vader.archive_path()


def test_the_real_ground_truth_through_the_regression_task():
    try:
        vader.archive_path()
    except UserError as e:
        pytest.skip(str(e))
    from tfbig.tasks.registry import get_task

    sizes = {d: len(rows) for d, rows in vader.read_domains().items()}
    assert sizes == {"tweets": 4200, "movieReviewSnippets": 10605, "amazonReviewSnippets": 3708,
                     "nytEditorialSnippets": 5190}
    task = get_task("regression")
    examples, stats = task.read_examples(load_config(None, ["data.source=vader_tweets", "task=regression"]).data)
    assert task.labels == ["rating"] and stats["read"] == 4200 and len(examples) == stats["kept"] > 4100
    assert examples.labels[1] == (1.443298969,) and examples.texts[1] == "Yay. Another good phone interview."
    assert all(-4 <= y[0] <= 4 for y in examples.labels)


def _domain_shares_hold(splits, domain_of):
    """Each split's count of each domain is within one example of the whole's share of that split's size."""
    parts = [splits.train, splits.val, splits.test]
    whole = Counter(domain_of[t] for p in parts for t in p.texts)
    total = sum(whole.values())
    for part in parts:
        counts = Counter(domain_of[t] for t in part.texts)
        for domain, n in whole.items():
            assert abs(counts[domain] - n / total * len(part)) <= 1, (domain, counts, whole)


def test_the_vader_split_is_stratified_by_domain_and_seeded(tmp_path, monkeypatch):
    sizes = {"tweets": 37, "movieReviewSnippets": 91, "amazonReviewSnippets": 13, "nytEditorialSnippets": 59}
    inner = {f"hutto_ICWSM_2014/{d}_GroundTruth.txt":
             "".join(f"{i}\t{(i % 9) - 4}\t{d} text number {i}\n" for i in range(n)).encode()
             for d, n in sizes.items()}
    with open(tmp_path / vader.ARCHIVE, "wb") as f:
        f.write(_tar_bytes({f"vaderSentiment-3.3.2/{vader.INNER}": _tar_bytes(inner)}))
    monkeypatch.setenv("TFBIG_DATA", str(tmp_path))
    from tfbig.tasks.registry import get_task

    domain_of = vader.domain_of_texts()
    task = get_task("regression")
    examples, _ = task.read_examples(load_config(None, ["data.source=vader", "task=regression"]).data)
    assert len(examples) == 200
    splits = task.split(examples, 0.2, 0.1, seed=3)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (140, 20, 40)
    assert sorted(splits.train.texts + splits.val.texts + splits.test.texts) == sorted(examples.texts)
    _domain_shares_hold(splits, domain_of)
    again = task.split(examples, 0.2, 0.1, seed=3)
    assert (again.train.texts, again.val.texts, again.test.texts) == (splits.train.texts, splits.val.texts,
                                                                        splits.test.texts)
    assert again.test.labels == splits.test.labels
    assert task.split(examples, 0.2, 0.1, seed=4).test.texts != splits.test.texts
    # a single-domain source and other regression sources keep the plain seeded split
    task.read_examples(load_config(None, ["data.source=vader_tweets", "task=regression"]).data)
    assert task.split_groups is None


def test_the_real_vader_split_holds_the_four_domains_in_proportion():
    try:
        vader.archive_path()
    except UserError as e:
        pytest.skip(str(e))
    from tfbig.tasks.registry import get_task

    task = get_task("regression")
    examples, _ = task.read_examples(load_config(None, ["data.source=vader", "task=regression"]).data)
    splits = task.split(examples, 0.2, 0.1, seed=0)
    _domain_shares_hold(splits, task.split_groups)
    assert task.split(examples, 0.2, 0.1, seed=0).test.texts == splits.test.texts
