"""Several seeds of one run read together: mean ± std of every numeric metric of their reports."""
import math


def flatten_numbers(report: dict, prefix: str = "") -> dict:
    """{dotted key: number} of a report's numeric leaves, nested dicts flattened ("macro.f1",
    "per_class.sport.recall"); booleans, strings and lists (the confusion matrix) are left out."""
    out = {}
    for key, value in report.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten_numbers(value, name + "."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            out[name] = float(value)
    return out


def mean_std(values: list) -> tuple[float, float]:
    """The mean and the *sample* standard deviation (n − 1 in the denominator; 0 for one value): the seeds
    are a sample of the seeds a user might draw."""
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return mean, std


def seeds_summary(reports: dict, run_dirs: dict | None = None) -> dict:
    """{"seeds", "std", "runs", "metrics": {key: {"mean", "std", "values"}}} over `reports` ({seed: report}),
    for the keys every report has, in the first report's order."""
    seeds = list(reports)
    flat = {seed: flatten_numbers(reports[seed]) for seed in seeds}
    keys = [k for k in flat[seeds[0]] if all(k in flat[s] for s in seeds)]
    metrics = {}
    for key in keys:
        values = [flat[s][key] for s in seeds]
        mean, std = mean_std(values)
        metrics[key] = {"mean": mean, "std": std, "values": values}
    return {"seeds": seeds, "std": "sample (n - 1)", "runs": dict(run_dirs or {}), "metrics": metrics}


def seeds_markdown(summary: dict, title: str) -> str:
    """A table: metric | mean ± std | one column per seed."""
    seeds = summary["seeds"]
    lines = [f"# {title}", "", f"{len(seeds)} seeds ({', '.join(map(str, seeds))}), one run folder each; std is the "
             "sample standard deviation (n − 1).", "",
             "| metric | mean ± std | " + " | ".join(f"seed {s}" for s in seeds) + " |",
             "| --- | ---: | " + " | ".join("---:" for _ in seeds) + " |"]
    for key, m in summary["metrics"].items():
        lines.append(f"| {key} | {m['mean']:.4f} ± {m['std']:.4f} | " + " | ".join(f"{v:.4g}" for v in m["values"]) + " |")
    return "\n".join(lines) + "\n"


def format_seeds(summary: dict, keys=("accuracy", "macro.f1", "baseline.accuracy", "baseline.macro.f1")) -> str:
    """The headline metrics for the terminal: "accuracy 0.9851 ± 0.0036"."""
    m = summary["metrics"]
    return "\n".join(f"{key:<20} {m[key]['mean']:.4f} ± {m[key]['std']:.4f}" for key in keys if key in m)
