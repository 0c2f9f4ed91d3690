"""`tfbig train`: fine-tune a backbone with the config's task head through the run skeleton."""
from tfbig.jobs.skeleton import Job, run_job
from tfbig.train.build import build_task_model
from tfbig.train.data import load_run_data


class TrainJob(Job):
    kind = "train"

    def load_data(self, cfg):
        return load_run_data(cfg)

    def build_model(self, cfg, data):
        return build_task_model(cfg, data.model_dir, data.task)


def train_run(cfg, extra_callbacks: list | None = None) -> dict:
    """Trains, evaluates on the test split, writes the run folder and exports; returns the report.

    extra_callbacks: Keras callbacks added to fit's (benchmarks use one to time accuracy per epoch).
    """
    return run_job(cfg, TrainJob(), extra_callbacks)
