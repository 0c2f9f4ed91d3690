"""Executes every notebook top to bottom (small size: TFBIG_NOTEBOOK_SMALL=1) and checks a number it prints."""
import ast
import json
import os
import re
import sys

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = os.path.join(ROOT, "notebooks")
KERNEL = "tfbig-test"


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory):
    """A kernel spec running this interpreter, found through JUPYTER_PATH only (nothing registered globally)."""
    jupyter_path = tmp_path_factory.mktemp("jupyter")
    spec_dir = jupyter_path / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "tfbig test", "language": "python",
            "env": {"PYTHONPATH": os.pathsep.join([ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p]),
                    "TFBIG_NOTEBOOK_SMALL": "1", "TF_CPP_MIN_LOG_LEVEL": "2", "MPLBACKEND": "Agg"}}
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(jupyter_path)
    yield
    if old is None:
        os.environ.pop("JUPYTER_PATH", None)
    else:
        os.environ["JUPYTER_PATH"] = old


def run_notebook(name: str, cwd: str) -> str:
    """Executes notebooks/<name>.ipynb in `cwd`; returns all the text it printed."""
    nb = nbformat.read(os.path.join(NOTEBOOKS, name + ".ipynb"), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{name}: stored with outputs"
            assert not re.search(r"^\s*class ", cell.source, flags=re.M), f"{name}: defines a class; use tfbig's"
    client = nbclient.NotebookClient(nb, kernel_name=KERNEL, timeout=600, resources={"metadata": {"path": cwd}})
    client.execute()  # raises CellExecutionError naming the cell on the first error
    text = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                text.append(out["text"])
            elif "data" in out and "text/plain" in out["data"]:
                text.append(out["data"]["text/plain"])
    return "".join(text)


def printed_accuracy(text: str) -> float:
    found = re.findall(r"test accuracy:? ([0-9.]+)", text)
    assert found, "the notebook printed no test accuracy"
    return float(found[-1])


@pytest.mark.parametrize("name", ["01_quickstart", "02_distillation", "03_distributed", "04_serving", "05_tasks"])
def test_notebook_runs(name, kernel_env, tmp_path):
    text = run_notebook(name, str(tmp_path))
    if name == "01_quickstart":
        assert 0.0 <= printed_accuracy(text) <= 1.0
        sums = json.loads(re.search(r"probabilities sum to: (\[.*\])", text).group(1))
        assert len(sums) == 3 and all(abs(s - 1.0) < 1e-3 for s in sums)
        assert (tmp_path / "confusion_matrix.png").stat().st_size > 1000
        assert os.path.isfile(tmp_path / "saved_models" / "quickstart" / "1" / "saved_model.pb")
    elif name == "02_distillation":
        rows = re.findall(r"^(teacher|student).*accuracy ([0-9.]+) +([0-9.]+) ex/s", text, flags=re.M)
        assert [r[0] for r in rows] == ["teacher", "student", "student"]
        assert all(0.0 <= float(acc) <= 1.0 and float(speed) > 0 for _, acc, speed in rows)
        assert (tmp_path / "tradeoff.png").stat().st_size > 1000
    elif name == "03_distributed":
        assert "2 replicas; global batch 8 = 4 per replica" in text
        assert 0.0 <= printed_accuracy(text) <= 1.0
    elif name == "05_tasks":
        floors = re.findall(r"^(\w+): test (\w+) ([0-9.]+) vs floor ([0-9.]+)", text, flags=re.M)
        assert [(run, metric) for run, metric, _, _ in floors] == [
            ("ratings", "pearson"), ("ratings", "spearman"), ("tags", "micro_f1"), ("tags", "macro_f1"),
            ("similarity", "pearson"), ("similarity", "spearman"), ("pos", "token_accuracy")]
        assert all(-1.0 <= float(m) <= 1.0 and -1.0 <= float(f) <= 1.0 for _, _, m, f in floors)
        assert len(re.findall(r"^predicted rating [+-][0-9.]+  ", text, flags=re.M)) == 2
        assert "inputs: ['text', 'text_pair']" in text
        tagged = re.search(r"^tagged: (\[.*\])$", text, flags=re.M).group(1)
        assert [w for w, _ in ast.literal_eval(tagged)] == ["The", "club", "shares", "rose", "."]
        for run in ("ratings", "tags", "similarity", "pos"):
            report = json.loads((tmp_path / "runs" / run / "report.json").read_text())
            assert report["floor"] and "## The floor" in (tmp_path / "runs" / run / "report.md").read_text()
    else:
        response = json.loads(re.search(r"REST response:\n(\{.*?\n\})", text, flags=re.S).group(1))
        assert len(response["predictions"]) == 4
        for p in response["predictions"]:
            assert abs(sum(p["probabilities"]) - 1.0) < 1e-4
            assert p["label_id"] == max(range(5), key=lambda i: p["probabilities"][i])
