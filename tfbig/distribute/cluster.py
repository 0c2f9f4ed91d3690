"""The multi-worker cluster as TF_CONFIG describes it: how many workers, which one this is, where it writes."""
import json
import os

from tfbig.errors import UserError

WORKER_JOBS = ("chief", "worker")  # the jobs that train; "evaluator" watches, "ps" is not supported


def read_tf_config() -> dict:
    """The parsed TF_CONFIG environment variable, or {} when it is unset or empty."""
    raw = os.environ.get("TF_CONFIG", "").strip()
    if not raw:
        return {}
    try:
        tf_config = json.loads(raw)
    except json.JSONDecodeError as e:
        raise UserError(f"TF_CONFIG is not valid JSON ({e.msg} at column {e.colno}): {raw[:80]}") from None
    if not isinstance(tf_config, dict) or not isinstance(tf_config.get("cluster", {}), dict):
        raise UserError(f"TF_CONFIG must be an object with a 'cluster' mapping, got {raw[:80]}")
    if "ps" in tf_config.get("cluster", {}):
        raise UserError("TF_CONFIG names parameter servers ('ps'); tfbig runs synchronous workers only "
                        "(runtime.strategy: multi_worker)")
    return tf_config


def num_workers(tf_config: dict | None = None) -> int:
    """Number of training tasks (chief + workers) in the cluster; 0 without TF_CONFIG."""
    cluster = (read_tf_config() if tf_config is None else tf_config).get("cluster", {})
    return sum(len(cluster.get(job, [])) for job in WORKER_JOBS)


def task(tf_config: dict | None = None) -> tuple:
    """(task type, task index) of this process; ("worker", 0) without TF_CONFIG."""
    info = (read_tf_config() if tf_config is None else tf_config).get("task", {})
    return info.get("type", "worker"), int(info.get("index", 0))


def is_chief(tf_config: dict | None = None) -> bool:
    """The chief writes the run folder: task "chief", or worker 0 when the cluster has no chief."""
    tf_config = read_tf_config() if tf_config is None else tf_config
    task_type, index = task(tf_config)
    if "chief" in tf_config.get("cluster", {}):
        return task_type == "chief"
    return task_type == "worker" and index == 0


def worker_dir(path: str, tf_config: dict | None = None) -> str:
    """`path` for the chief; for other workers a private folder below it, so no two processes write one file."""
    if is_chief(tf_config):
        return path
    task_type, index = task(tf_config)
    return os.path.join(path, ".workers", f"{task_type}-{index}")
