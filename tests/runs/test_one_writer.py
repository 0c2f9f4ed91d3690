"""Two `tfbig train --set name=same` started together: one trains, the other is refused at once."""
import os
import subprocess
import sys
import time

from tfbig.testing import tiny_run_overrides, write_tiny_folder_dataset

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DRIVER = "import sys; from tfbig.cli import main; sys.exit(main(sys.argv[1:]))"


def test_the_same_run_started_twice_runs_once(tmp_path, tiny_bert_dir):
    tmp = str(tmp_path)
    data = write_tiny_folder_dataset(os.path.join(tmp, "data"))
    args = ["train"] + [a for o in tiny_run_overrides(tmp, data, tiny_bert_dir, "same") for a in ("--set", o)]
    env = {**os.environ, "PYTHONPATH": ROOT, "TFBIG_PROGRESS": "0"}
    procs = [subprocess.Popen([sys.executable, "-c", DRIVER, *args], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env=env) for _ in range(2)]
    ended, outputs = {}, {}
    try:
        while len(ended) < 2:
            for i, p in enumerate(procs):
                if i not in ended and p.poll() is not None:
                    ended[i] = time.time()
            time.sleep(0.05)
        for i, p in enumerate(procs):
            outputs[i] = p.communicate()[0]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    codes = {i: p.returncode for i, p in enumerate(procs)}
    assert sorted(codes.values()) == [0, 2], outputs
    winner, loser = (0, 1) if codes[0] == 0 else (1, 0)
    run_dir = os.path.join(tmp, "runs", "same")
    message = (f"tfbig: error: run folder {run_dir} is in use by process {procs[winner].pid} (another tfbig train "
               "or distill); wait for it or choose another name")
    assert outputs[loser].strip().splitlines()[-1] == message
    assert ended[loser] < ended[winner]  # refused at the start, while the other was still training
    for name in ("config.yaml", "labels.txt", "final.weights.index", "report.json"):
        assert os.path.isfile(os.path.join(run_dir, name)), name
    assert sorted(os.listdir(os.path.join(tmp, "exports", "same"))) == ["1"]  # one export, not two
    assert not any(".lock" in files for _, _, files in os.walk(os.path.join(tmp, "exports")))
    assert open(os.path.join(run_dir, ".lock")).read() == ""  # released
