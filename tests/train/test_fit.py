"""A checkpoint written with other settings is refused with a message naming them."""
import pytest

from tfbig.config import load_config
from tfbig.errors import UserError
from tfbig.train.fit import check_compatible, fingerprint


def test_resume_refuses_other_settings_but_allows_more_epochs():
    cfg = load_config(None, ["train.epochs=2"])
    state = {"steps_per_epoch": 10, "fingerprint": fingerprint(cfg)}
    check_compatible(state, 10, fingerprint(load_config(None, ["train.epochs=5"])), "latest.json")
    with pytest.raises(UserError, match=r"latest.json: .*data.batch_size: 32 → 16; steps per epoch: 10 → 20"):
        check_compatible(state, 20, fingerprint(load_config(None, ["data.batch_size=16"])), "latest.json")
