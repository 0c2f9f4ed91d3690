"""A run folder (`runs/<name>/`): the one reader and writer of what a train or distill job leaves behind.

    runs/<name>/
      config.yaml        the job's config (a RunConfig, or a DistillRunConfig with distill/student sections)
      labels.txt         class names, one a line, in label id order
      final.weights.*    the finished model's weights (written last but one: their presence means finished)
      report.json        the test report
      checkpoints/       resume/ step checkpoints and the best checkpoint
      logs/              TensorBoard summaries
      .lock              held by the one job writing the folder (tfbig.runs.lock)
"""
import json
import os

import yaml

from tfbig.errors import UserError
from tfbig.io_utils import atomic_write_json, atomic_write_text
from tfbig.labels import FILE as LABELS_FILE, labels_text, read_labels
from tfbig.runs.lock import folder_lock
from tfbig.runs.rebuild import rebuild_model, run_model_dir

CONFIG_FILE = "config.yaml"
WEIGHTS = "final.weights"  # a TF checkpoint prefix: final.weights.index + final.weights.data-*
REPORT_FILE = "report.json"
DISTILL_SECTIONS = ("distill", "student")  # a config with either is a distillation run's


class RunFolder:
    """Reads and writes one run folder; rebuilds its model (any run kind) with `load_model`.

    path: str. The folder, e.g. `runs/bbc` (cfg.run_dir).

    >>> run = RunFolder("runs/bbc")
    >>> run.require_finished()
    >>> model, labels = run.load_model(), run.read_labels()
    """

    def __init__(self, path: str):
        self.path = str(path)

    def __repr__(self) -> str:
        return f"RunFolder({self.path!r})"

    def __fspath__(self) -> str:
        return self.path

    @property
    def config_path(self) -> str:
        return os.path.join(self.path, CONFIG_FILE)

    @property
    def labels_path(self) -> str:
        return os.path.join(self.path, LABELS_FILE)

    @property
    def weights_path(self) -> str:
        """The checkpoint prefix of the final weights (Keras' save_weights/load_weights take it)."""
        return os.path.join(self.path, WEIGHTS)

    @property
    def report_path(self) -> str:
        return os.path.join(self.path, REPORT_FILE)

    @property
    def checkpoints_dir(self) -> str:
        return os.path.join(self.path, "checkpoints")

    @property
    def logs_dir(self) -> str:
        return os.path.join(self.path, "logs")

    @staticmethod
    def is_run_folder(path: str) -> bool:
        """Whether `path` has a run's config.yaml and labels.txt (finished or not)."""
        return os.path.isfile(os.path.join(path, CONFIG_FILE)) and os.path.isfile(os.path.join(path, LABELS_FILE))

    def missing(self) -> list:
        """The files a finished run has and this folder lacks, in the order a job writes them."""
        needed = (CONFIG_FILE, LABELS_FILE, WEIGHTS + ".index")
        return [name for name in needed if not os.path.isfile(os.path.join(self.path, name))]

    def require_finished(self) -> None:
        """Raises UserError naming what is missing unless the folder holds a finished run."""
        if not os.path.isdir(self.path):
            raise UserError(f"run folder not found: {self.path}")
        missing = self.missing()
        if not missing:
            return
        if missing[0] != WEIGHTS + ".index":
            raise UserError(f"{self.path} has no {missing[0]}: it is not the run folder of a tfbig train or "
                            "distill")
        raise UserError(f"{self.path} has no {missing[0]}: the run has not finished (rerun its train or distill "
                        "command to resume it)")

    def write_config(self, cfg) -> None:
        from tfbig.config import save_config

        os.makedirs(self.path, exist_ok=True)
        save_config(cfg, self.config_path)

    def config_text(self) -> str:
        """config.yaml as written (exports keep it verbatim)."""
        if not os.path.isfile(self.config_path):
            raise UserError(f"{self.path} has no {CONFIG_FILE}")
        with open(self.config_path, encoding="utf-8") as f:
            return f.read()

    def read_config(self):
        """The run's RunConfig, or a DistillRunConfig when config.yaml has `distill`/`student` sections."""
        from tfbig.config import RunConfig, load_config

        try:
            raw = yaml.safe_load(self.config_text()) or {}
        except yaml.YAMLError as e:
            raise UserError(f"{self.config_path}: not valid YAML: {e}") from None
        cls = RunConfig
        if isinstance(raw, dict) and any(section in raw for section in DISTILL_SECTIONS):
            from tfbig.distill.config import DistillRunConfig as cls
        elif isinstance(raw, dict) and "mlm" in raw:  # a tfbig pretrain run
            from tfbig.config import PretrainRunConfig as cls
        return load_config(self.config_path, cls=cls, check_model=False)  # checked when the run started

    def write_labels(self, labels) -> None:
        if not labels:
            raise UserError(f"{self.labels_path}: no class names to write")
        atomic_write_text(self.labels_path, labels_text(labels))

    def read_labels(self) -> list:
        """The class names; a missing or empty labels.txt is a UserError naming it."""
        return read_labels(self.labels_path)

    def write_report(self, report: dict) -> None:
        atomic_write_json(self.report_path, report)

    def read_report(self) -> dict:
        if not os.path.isfile(self.report_path):
            raise UserError(f"{self.path} has no {REPORT_FILE}: the run has not finished")
        with open(self.report_path, encoding="utf-8") as f:
            try:
                return json.load(f)
            except json.JSONDecodeError as e:
                raise UserError(f"{self.report_path}: not valid JSON ({e.msg} at line {e.lineno})") from None

    def save_weights(self, model) -> None:
        """Writes the model's final weights (with the optimizer's slots when the model has been compiled)."""
        model.save_weights(self.weights_path)

    def load_model(self):
        """The run's model, rebuilt from its config (tfbig.runs.rebuild) with final.weights loaded."""

        self.require_finished()
        cfg = self.read_config()
        model = rebuild_model(cfg, run_model_dir(cfg), self.read_labels(),
                              load_teacher=lambda path: type(self)(path).load_model())
        model.load_weights(self.weights_path).expect_partial()  # the optimizer's slots are not needed
        return model

    def lock(self):
        """A context manager holding this folder's one-writer lock (tfbig.runs.lock.folder_lock)."""
        return folder_lock(self.path)
