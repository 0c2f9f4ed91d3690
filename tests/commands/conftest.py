"""Tiny untrained run folders and their exports, one per task (regression, multilabel, tagging, a pair
regression), for `tfbig predict` and `tfbig evaluate`: built once a session, no training (random heads)."""
import json
import os

import numpy as np
import pytest

from tfbig.testing import tiny_run_overrides

WORDS = ["game", "club", "players", "win", "bank", "shares", "market", "growth", "sales", "price"]
LEXICON = {"the": "DT", "club": "NN", "game": "NN", "bank": "NN", "players": "NNS", "shares": "NNS", "win": "VB"}


def _write_data(task: str, path: str, n: int = 16) -> list:
    """The labelled file of `task` and the run's extra --set strings."""
    rng = np.random.default_rng(0)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            a, b = list(rng.choice(WORDS, size=4)), list(rng.choice(WORDS, size=4))
            if task == "tagging":
                f.write("".join(f"{w}\t{LEXICON[w]}\n" for w in rng.choice(list(LEXICON), size=4)) + "\n")
                continue
            row = {"text": " ".join(a) + f" {i}", "other": " ".join(b),
                   "sport": float(np.mean([w in WORDS[:4] for w in a])),
                   "market": 10.0 * float(np.mean([w in b for w in a])),
                   "label": sorted({"sport" for w in a if w in WORDS[:4]} | {"market" for w in a if w in WORDS[4:]})}
            f.write(json.dumps(row) + "\n")
    return {"regression": ["task=regression", "data.label_column=sport,market"],
            "multilabel": ["task=multilabel"],
            "tagging": ["task=tagging"],
            "pairs": ["task=regression", "data.label_column=market", "data.text_pair_column=other"]}[task]


def make_task_run(root: str, task_kind: str, model_dir: str) -> dict:
    """A finished run folder (config.yaml, labels.txt, final.weights) of an untrained model and its export."""
    from tfbig.config import load_config, save_config
    from tfbig.data.tokenizer import BertTextTokenizer
    from tfbig.export.saved_model import export_saved_model
    from tfbig.tasks.registry import get_task
    from tfbig.train.build import build_task_model

    os.makedirs(root, exist_ok=True)
    data = os.path.join(root, "data.conll" if task_kind == "tagging" else "data.jsonl")
    sets = tiny_run_overrides(root, data, model_dir, task_kind) + _write_data(task_kind, data)
    cfg = load_config(None, sets + ["train.precision=float32"])
    task = get_task(cfg.task).configure(cfg)
    examples, _ = task.read_examples(cfg.data)
    if task_kind == "tagging":
        task.split(examples, 0.25, 0.25, 0)
    task.fit(examples.labels)
    if task_kind == "multilabel":
        task.thresholds = [0.45, 0.55][:len(task.labels)]
    model = build_task_model(cfg, model_dir, task)
    os.makedirs(cfg.run_dir)
    save_config(cfg, os.path.join(cfg.run_dir, "config.yaml"))
    with open(os.path.join(cfg.run_dir, "labels.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(task.labels) + "\n")
    model.save_weights(os.path.join(cfg.run_dir, "final.weights"))
    tok = BertTextTokenizer.from_model_dir(model_dir, cfg.data.max_length)
    with open(os.path.join(cfg.run_dir, "config.yaml"), encoding="utf-8") as f:
        config_text = f.read()
    export = export_saved_model(model, tok, task, os.path.join(root, "exports", task_kind),
                                assets={"config.yaml": config_text})
    return {"cfg": cfg, "task": task, "model": model, "tokenizer": tok, "run_dir": cfg.run_dir, "export": export,
            "data": data, "examples": examples}


@pytest.fixture(scope="session")
def task_runs(tmp_path_factory, tiny_bert_dir):
    """{kind: make_task_run(...)} for regression, multilabel, tagging and pairs, built on first use."""
    root = str(tmp_path_factory.mktemp("task_runs"))
    cache = {}

    def get(kind):
        if kind not in cache:
            cache[kind] = make_task_run(os.path.join(root, kind), kind, tiny_bert_dir)
        return cache[kind]

    return get
