"""SavedClassifier and the `tfbig predict` / `tfbig export` commands, including their user errors."""
import os
import shutil

import numpy as np
import pytest

from tfbig._keras import tf
from tfbig.cli import main
from tfbig.errors import UserError
from tfbig.export.loader import SavedClassifier, version_dir


def test_loader_picks_the_highest_version_and_matches_the_signature(tmp_path, fast_export, bbc_texts):
    root = tmp_path / "m"
    shutil.copytree(fast_export, root / "2")
    shutil.copytree(fast_export, root / "10")
    (root / "11-not-a-version").mkdir()
    clf = SavedClassifier(str(root))
    assert clf.version == 10 and clf.path == str(root / "10")
    assert clf.labels == ["business", "entertainment", "politics", "sport", "tech"]
    assert "model_dir" in clf.config_text
    pred = clf.predict(bbc_texts[:10], batch_size=4)  # three batches, order kept
    expected = tf.saved_model.load(fast_export).signatures["serving_default"](text=tf.constant(bbc_texts[:10]))
    np.testing.assert_allclose(pred.probabilities, expected["probabilities"].numpy(), atol=1e-6, rtol=0)
    assert pred.labels == [clf.labels[i] for i in pred.label_ids]
    assert clf.predict([]).probabilities.shape == (0, 5)


def test_version_dir_errors(tmp_path):
    with pytest.raises(UserError, match="SavedModel folder not found"):
        version_dir(str(tmp_path / "nope"))
    with pytest.raises(UserError, match="no SavedModel and no version folder"):
        version_dir(str(tmp_path))


def test_predict_prints_label_and_probabilities(capsys, tmp_path, core_export, bbc_texts):
    root = os.path.dirname(core_export[0])
    (tmp_path / "texts.txt").write_text("\n".join(t.replace("\n", " ") for t in bbc_texts[:3]) + "\n")
    assert main(["predict", root, "Shares rose sharply.", "--file", str(tmp_path / "texts.txt")]) == 0
    lines = capsys.readouterr().out.strip().split("\n")
    assert len(lines) == 4
    expected = SavedClassifier(root).predict(["Shares rose sharply."] + [t.replace("\n", " ") for t in bbc_texts[:3]])
    for line, label, probs in zip(lines, expected.labels, expected.probabilities):
        fields = line.split("\t")
        assert fields[0] == label
        shown = dict(zip(fields[1].split()[::2], map(float, fields[1].split()[1::2])))
        assert list(shown) == ["business", "entertainment", "politics", "sport", "tech"]
        np.testing.assert_allclose(list(shown.values()), probs, atol=1e-4)


@pytest.mark.parametrize("argv,message", [
    (["export", "/no/such/run"], "run folder not found: /no/such/run"),
    (["predict", "/no/such/model", "text"], "SavedModel folder not found: /no/such/model"),
    (["predict", "{tmp}"], "no texts: give them as arguments or with --file"),
    (["predict", "{tmp}", "--file", "{tmp}/missing.txt"], "text file not found: {tmp}/missing.txt"),
    (["predict", "{tmp}", "text"], "{tmp}: no SavedModel and no version folder"),
])
def test_user_errors_exit_2(capsys, tmp_path, argv, message):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message.replace("{tmp}", str(tmp_path)) in err and len(err.splitlines()) == 1


def test_unfinished_run_folder_and_bad_tokenizer_exit_2(capsys, tmp_path, tiny_run):
    cfg, _ = tiny_run
    run = tmp_path / "run"
    shutil.copytree(cfg.run_dir, run, ignore=shutil.ignore_patterns("final.weights*"))
    assert main(["export", str(run), "--out", str(tmp_path / "m")]) == 2
    assert "has no final.weights.index" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["export", cfg.run_dir, "--tokenizer", "slow"])
    assert e.value.code == 2


def test_loader_reads_an_older_exports_labels_from_assets_extra(tmp_path, fast_export, bbc_texts):
    """Exports whose assets/ lacked labels.txt: the copy in assets.extra/ is read; predictions unchanged."""
    old = tmp_path / "old" / "1"
    shutil.copytree(fast_export, old)
    os.remove(old / "assets" / "labels.txt")
    clf = SavedClassifier(str(old))
    assert clf.labels == ["business", "entertainment", "politics", "sport", "tech"]
    np.testing.assert_allclose(clf.predict(bbc_texts[:3]).probabilities,
                               SavedClassifier(fast_export).predict(bbc_texts[:3]).probabilities, atol=1e-6, rtol=0)
    os.remove(old / "assets.extra" / "labels.txt")  # then the metadata's copy
    assert SavedClassifier(str(old)).labels == clf.labels
