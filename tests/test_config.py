import pytest

from tfbig.config import RunConfig, load_config, save_config
from tfbig.errors import UserError


def test_defaults_and_overrides_coerce_types():
    cfg = load_config(None, ["train.epochs=2", "train.learning_rate=1e-4", "data.bucketing=false",
                             "train.penalty_exclude=bias,norm", "name=x"])
    assert cfg.train.epochs == 2 and isinstance(cfg.train.epochs, int)
    assert cfg.train.learning_rate == pytest.approx(1e-4)
    assert cfg.data.bucketing is False
    assert cfg.train.penalty_exclude == ["bias", "norm"]
    assert cfg.run_dir.endswith("x")


def test_unknown_key_suggests_the_closest(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  learnig_rate: 0.1\n")
    with pytest.raises(UserError, match=r"unknown config key 'train.learnig_rate'; did you mean 'learning_rate'"):
        load_config(str(path))


@pytest.mark.parametrize("value", ["0", "-1e-5"])
def test_non_positive_learning_rate_is_refused(value):
    with pytest.raises(UserError, match="learning_rate must be positive"):
        load_config(None, [f"train.learning_rate={value}"])


def test_wrong_type_names_the_key():
    with pytest.raises(UserError, match="data.batch_size"):
        load_config(None, ["data.batch_size=many"])


def test_saved_config_loads_back_equal(tmp_path):
    cfg = load_config(None, ["train.l2=0.01", "data.max_length=64"])
    save_config(cfg, str(tmp_path / "config.yaml"))
    assert load_config(str(tmp_path / "config.yaml")) == cfg
    assert load_config(None) == RunConfig()
