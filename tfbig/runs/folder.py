"""Interim RunFolder (replaced by the full one at merge)."""
import contextlib
import os

from tfbig.io_utils import atomic_write_json, atomic_write_text


class RunFolder:
    def __init__(self, path: str):
        self.path = path

    @contextlib.contextmanager
    def lock(self):
        os.makedirs(self.path, exist_ok=True)
        yield self

    def write_config(self, cfg) -> None:
        from tfbig.config import save_config

        save_config(cfg, os.path.join(self.path, "config.yaml"))

    def config_text(self) -> str:
        with open(os.path.join(self.path, "config.yaml"), encoding="utf-8") as f:
            return f.read()

    def write_labels(self, labels) -> None:
        atomic_write_text(os.path.join(self.path, "labels.txt"), "\n".join(labels) + "\n")

    def write_report(self, report) -> None:
        atomic_write_json(os.path.join(self.path, "report.json"), report)

    def save_weights(self, model) -> None:
        model.save_weights(os.path.join(self.path, "final.weights"))

    def read_config(self):
        import yaml

        from tfbig.config import RunConfig, load_config

        path = os.path.join(self.path, "config.yaml")
        with open(path, encoding="utf-8") as f:
            raw = yaml.safe_load(f) or {}
        cls = RunConfig
        if "distill" in raw:
            from tfbig.distill.config import DistillRunConfig as cls
        return load_config(path, cls=cls)

    def read_labels(self) -> list:
        with open(os.path.join(self.path, "labels.txt"), encoding="utf-8") as f:
            return [line.rstrip("\n") for line in f if line.strip()]

    def require_finished(self) -> None:
        from tfbig.errors import UserError

        for needed in ("config.yaml", "labels.txt", "final.weights.index"):
            if not os.path.isfile(os.path.join(self.path, needed)):
                raise UserError(f"run folder {self.path} has no {needed} (is it a finished run?)")

    def load_model(self):
        from tfbig.runs.rebuild import rebuild_model

        self.require_finished()
        model = rebuild_model(self.read_config(), self.read_labels())
        model.load_weights(os.path.join(self.path, "final.weights")).expect_partial()
        return model
