"""The layering contract (.importlinter): lower layers never import upper ones, and no module circle."""
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def lint(package_parent: str):
    """Runs lint-imports with the project's contract against the `tfbig` found in `package_parent`."""
    cli = os.path.join(os.path.dirname(sys.executable), "lint-imports")
    env = {**os.environ, "PYTHONPATH": package_parent}
    return subprocess.run([cli, "--config", os.path.join(ROOT, ".importlinter"), "--no-cache"], cwd=package_parent,
                          env=env, capture_output=True, text=True, timeout=300)


def test_the_package_keeps_its_layers():
    proc = lint(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 kept, 0 broken" in proc.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    shutil.copytree(os.path.join(ROOT, "tfbig"), tmp_path / "tfbig", ignore=shutil.ignore_patterns("__pycache__"))
    with open(tmp_path / "tfbig" / "data" / "clean.py", "a", encoding="utf-8") as f:
        f.write("\n\ndef _upward():\n    from tfbig.jobs import skeleton  # data may not know the jobs\n")
    proc = lint(str(tmp_path))
    assert proc.returncode != 0
    assert "tfbig.data is not allowed to import tfbig.jobs" in proc.stdout, proc.stdout
    assert "tfbig.data.clean -> tfbig.jobs.skeleton" in proc.stdout


def test_no_two_modules_import_each_other_even_indirectly():
    import grimp

    graph = grimp.build_graph("tfbig")
    circles = sorted({tuple(sorted((a, b))) for a in graph.modules for b in graph.find_modules_directly_imported_by(a)
                      if graph.find_shortest_chain(importer=b, imported=a)})
    assert circles == []
