"""The README's Python example and every notebook cell use tfbig's public names only: `import tfbig`,
`from tfbig import NAME` with NAME in `tfbig.__all__`, `tfbig.NAME` — never a module under tfbig."""
import ast
import json
import os
import re

import pytest

import tfbig

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = sorted(f for f in os.listdir(os.path.join(ROOT, "notebooks")) if f.endswith(".ipynb"))


def non_public_uses(source: str) -> list:
    """What `source` reaches inside tfbig besides the public names, as `line: what` strings."""
    public = set(tfbig.__all__)
    aliases = {"tfbig"}
    found = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("tfbig."):
                    found.append(f"{node.lineno}: import {alias.name}")
                elif alias.name == "tfbig":
                    aliases.add(alias.asname or "tfbig")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "tfbig":
            if node.module != "tfbig":
                found.append(f"{node.lineno}: from {node.module} import ...")
            else:
                found += [f"{node.lineno}: from tfbig import {a.name}" for a in node.names if a.name not in public]
    for node in ast.walk(tree):  # tfbig.<not public>, e.g. tfbig.train.run.prepare after another import
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            if node.attr not in public:
                found.append(f"{node.lineno}: {node.value.id}.{node.attr}")
    return found


@pytest.mark.parametrize("source,expected", [
    ("import tfbig\ncfg = tfbig.load_config(None, [])", []),
    ("from tfbig import TaskModel, keras, tf", []),
    ("import tfbig as tb\ntb.train_run(cfg)", []),
    ("from tfbig.train.run import train_run", ["1: from tfbig.train.run import ..."]),
    ("import os\nimport tfbig.data.pipeline", ["2: import tfbig.data.pipeline"]),
    ("from tfbig import _keras", ["1: from tfbig import _keras"]),
    ("import tfbig\nx = tfbig.train.optimizers.build_optimizer", ["2: tfbig.train"]),
    ("import tfbig as tb\ntb.data.pipeline.make_dataset", ["2: tb.data"]),
    ("import tensorflow as tf\nimport numpy as np", []),
])
def test_the_checker_flags_internal_imports(source, expected):
    assert non_public_uses(source) == expected


def notebook_code(name: str) -> str:
    with open(os.path.join(ROOT, "notebooks", name), encoding="utf-8") as f:
        cells = json.load(f)["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def readme_python() -> list:
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        return re.findall(r"^```python\n(.*?)^```", f.read(), flags=re.M | re.S)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebooks_use_only_public_names(name):
    code = notebook_code(name)
    assert "tfbig" in code
    assert non_public_uses(code) == []


def test_readme_python_uses_only_public_names():
    blocks = readme_python()
    assert blocks
    for block in blocks:
        assert non_public_uses(block) == []
