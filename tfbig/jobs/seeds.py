"""`tfbig train --seeds 0,1,2`: the same run once per seed, one after another, then the summary of all.

Layout: `<output_dir>/<name>/seed_<n>/` is seed n's run folder (its exports under
`<export_dir>/<name>/seed_<n>/`), and `<output_dir>/<name>/seeds_summary.json` / `.md` hold mean ± std
(sample std) of every numeric metric of their reports. `seed` changes the weights' initialisation, dropout
and batch order; the split (`data.seed`) stays, so every seed is scored on the same test texts.
"""
import dataclasses
import json
import logging
import os

from tfbig.errors import UserError
from tfbig.io_utils import atomic_write_text
from tfbig.reports.seeds import seeds_markdown, seeds_summary

log = logging.getLogger(__name__)

SUMMARY_JSON, SUMMARY_MD = "seeds_summary.json", "seeds_summary.md"


def parse_seeds(text: str) -> list:
    """"0,1,2" → [0, 1, 2]; UserError naming --seeds for anything else (a repeated seed would reuse a folder)."""
    try:
        seeds = [int(part) for part in str(text).split(",") if part.strip()]
    except ValueError:
        raise UserError(f"--seeds expects comma-separated integers such as 0,1,2, got {text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise UserError(f"--seeds expects distinct integers such as 0,1,2, got {text!r}")
    return seeds


def seed_config(cfg, seed: int):
    """The config of one seed's run: nested under the run's own folder and export folder."""
    return dataclasses.replace(cfg, seed=int(seed), name=f"seed_{seed}", output_dir=cfg.run_dir,
                               export_dir=os.path.join(cfg.export_dir, cfg.name))


def seeds_run(cfg, seeds: list, run=None) -> dict:
    """Runs `run(config)` (default: tfbig.jobs.train_job.train_run) for each seed in turn; writes and returns
    the summary, with "path" added (the summary JSON)."""
    if run is None:
        from tfbig.jobs.train_job import train_run as run
    reports, dirs = {}, {}
    for seed in seeds:
        one = seed_config(cfg, seed)
        log.info("seed %d of %s: %s", seed, seeds, one.run_dir)
        reports[seed] = run(one)
        dirs[seed] = one.run_dir
    summary = seeds_summary(reports, dirs)
    os.makedirs(cfg.run_dir, exist_ok=True)
    path = os.path.join(cfg.run_dir, SUMMARY_JSON)
    atomic_write_text(path, json.dumps(summary, indent=2) + "\n")
    atomic_write_text(os.path.join(cfg.run_dir, SUMMARY_MD), seeds_markdown(summary, f"{cfg.name}: {len(seeds)} seeds"))
    log.info("seeds summary: %s", path)
    return {**summary, "path": path}
