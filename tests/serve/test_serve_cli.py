"""`tfbig serve` argument mistakes exit 2 with one line."""
import socket

import pytest

from tfbig.cli import main


@pytest.mark.parametrize("argv,message", [
    (["serve", "/no/such/models"], "model folder not found: /no/such/models"),
    (["serve", "a=/no/such"], "model folder not found: /no/such"),
    (["serve", "{tmp}", "{tmp}", "--model-name", "x"], "--model-name names one model; 2 were given"),
    (["serve", "x={tmp}", "x={tmp}"], "model name 'x' given twice"),
    (["serve", "{tmp}"], "no SavedModel and no version folder"),
    (["serve", "{tmp}", "--max-batch-size", "0"], "max_batch_size must be at least 1, got 0"),
    (["serve", "{tmp}", "--port", "70000"], "port must be in 0..65535, got 70000"),
])
def test_bad_arguments_exit_2_with_one_line(capsys, tmp_path, argv, message):
    code = main([a.replace("{tmp}", str(tmp_path)) for a in argv])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1, err


def test_port_in_use_exits_2(capsys, export_root):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        code = main(["serve", f"{export_root}/tiny", "--port", str(s.getsockname()[1])])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "cannot listen on 127.0.0.1:" in err and len(err.splitlines()) == 1, err
