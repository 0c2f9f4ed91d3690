"""A pretraining checkpoint is refused by a resumed run that masks, packs or builds its model otherwise."""
import pytest

from tfbig.config import PretrainRunConfig, load_config
from tfbig.errors import UserError
from tfbig.train.fit import check_compatible, fingerprint


def pretrain_cfg(*overrides):
    return load_config(None, ["mlm.preset=tiny", *overrides], cls=PretrainRunConfig)


@pytest.mark.parametrize("override, named", [
    ("data.mask_rate=0.2", "data.mask_rate: 0.15 → 0.2"),
    ("data.packing=false", "data.packing: True → False"),
    ("data.whole_word_masking=true", "data.whole_word_masking: False → True"),
    ("mlm.preset=mini", "mlm.preset: 'tiny' → 'mini'"),
])
def test_a_pretraining_checkpoint_refuses_other_masking_packing_or_preset(override, named):
    state = {"steps_per_epoch": 10, "fingerprint": fingerprint(pretrain_cfg())}
    check_compatible(state, 10, fingerprint(pretrain_cfg("train.epochs=3")), "latest.json")
    with pytest.raises(UserError, match="latest.json: .*" + named.replace("(", r"\(")):
        check_compatible(state, 10, fingerprint(pretrain_cfg(override)), "latest.json")


def test_a_checkpoint_without_the_new_keys_still_resumes():
    old = {k: v for k, v in fingerprint(pretrain_cfg()).items() if not k.startswith(("mlm.", "data.mask_rate"))}
    check_compatible({"steps_per_epoch": 10, "fingerprint": old}, 10, fingerprint(pretrain_cfg()), "latest.json")
    assert "mlm.preset" not in fingerprint(load_config(None, []))  # a fine-tuning run's fingerprint is unchanged
