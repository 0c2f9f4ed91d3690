"""The Debian fortunes corpus: parsing, the whitelist, and fetching the packages into a cache folder."""
import os
import shutil

import pytest

from tfbig.data.fortunes import CATEGORIES, install_fortunes, parse_fortunes, read_fortunes
from tfbig.errors import UserError


def test_parse_splits_on_percent_lines_and_resolves_overstrike():
    text = "First one\n  -- someone\n%\n\n%\nSecond\n%\n_\bu_\bn_\bd_\be_\br ____\b\b\b\bline b\bbold\n%\n"
    assert parse_fortunes(text) == ["First one\n  -- someone", "Second", "under line bold"]


def test_read_fortunes_labels_by_category(tmp_path):
    (tmp_path / "food").write_text("Eat.\n%\nDrink.\n%\n")
    (tmp_path / "law").write_text("Sue.\n%\n")
    (tmp_path / "politics").write_text("Not whitelisted.\n%\n")
    ex = read_fortunes(folder=str(tmp_path))
    assert list(zip(ex.texts, ex.labels)) == [("Sue.", "law"), ("Eat.", "food"), ("Drink.", "food")]


def test_read_fortunes_names_the_folder_without_categories(tmp_path):
    with pytest.raises(UserError, match=str(tmp_path)):
        read_fortunes(folder=str(tmp_path))


def test_real_fortunes_whitelist(fortunes_folder):
    ex = read_fortunes(folder=fortunes_folder)
    counts = {c: ex.labels.count(c) for c in CATEGORIES}
    assert set(ex.labels) <= set(CATEGORIES)
    assert counts["computers"] > 1000 and counts["medicine"] > 50, counts
    assert all(t.strip() == t and t for t in ex.texts)
    assert not any("\n%\n" in t or "\b" in t for t in ex.texts)


def test_install_into_a_fresh_cache_folder(tmp_path):
    if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
        pytest.skip("no apt-get/dpkg: not a Debian-based machine")
    try:
        folder = install_fortunes(str(tmp_path))
    except UserError as e:
        pytest.skip(f"the Debian packages cannot be downloaded here: {e}")
    assert folder == os.path.join(str(tmp_path), "usr", "share", "games", "fortunes")
    assert len(read_fortunes(folder=folder)) > 3000
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".download-")]
