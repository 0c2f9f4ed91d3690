"""A run folder's config.yaml holds what the hardware layer decided, not the `auto` the user asked for."""
import os

import yaml

from tfbig.distribute.precision import PRECISIONS


def test_config_yaml_records_the_hardware_decision(reference_run):
    run_dir = reference_run["run_dir"]
    with open(os.path.join(run_dir, "config.yaml"), encoding="utf-8") as f:
        saved = yaml.safe_load(f)
    assert saved["train"]["precision"] in PRECISIONS  # train.precision auto, resolved for this machine
    assert saved["runtime"]["backup_dir"] == os.path.join(run_dir, "backup")  # "" resolved to the default
    assert saved["runtime"]["strategy"] == "auto" and saved["output_dir"] == os.path.dirname(run_dir)
