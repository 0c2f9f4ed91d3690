"""train.epochs auto: the planned epochs and steps, exactly; an explicit count kept; the schedule refuses "auto"."""
import pytest

from tfbig.config import TrainConfig
from tfbig.train.budget import AUTO_PATIENCE, plan_epochs, resolve_budget
from tfbig.train.optimizers import build_optimizer


@pytest.mark.parametrize("steps,min_steps,max_epochs,epochs", [
    (17, 300, 20, 18),   # the 505 texts at batch 32: 17 × 18 = 306 ≥ 300 > 17 × 17 = 289
    (47, 300, 20, 7),    # BBC's 1,487 training texts: 329 steps
    (300, 300, 20, 1),   # exactly enough in one epoch
    (301, 300, 20, 1),
    (400, 300, 20, 1),
    (5, 300, 20, 20),    # 60 epochs needed, capped
    (10, 300, 30, 30),
    (3, 7, 20, 3),       # ceil(7 / 3)
])
def test_plan_epochs_is_the_fewest_reaching_min_steps_capped(steps, min_steps, max_epochs, epochs):
    assert plan_epochs(steps, min_steps, max_epochs) == epochs


def test_plan_epochs_refuses_an_empty_epoch():
    with pytest.raises(ValueError, match="steps_per_epoch"):
        plan_epochs(0)


def test_auto_budget_plan_and_patience():
    epochs, plan = resolve_budget(TrainConfig(), 17)
    assert epochs == 18
    assert plan == {"steps_per_epoch": 17, "epochs": 18, "planned_steps": 306, "patience": AUTO_PATIENCE,
                    "why": plan["why"]}
    assert "min_steps 300" in plan["why"] and "patience 2" in plan["why"]
    _, capped = resolve_budget(TrainConfig(min_steps=500, max_epochs=4), 10)
    assert capped["epochs"] == 4 and capped["planned_steps"] == 40 and "capped" in capped["why"]
    assert resolve_budget(TrainConfig(early_stopping_patience=3), 17)[1]["patience"] == 3
    assert resolve_budget(TrainConfig(early_stopping_patience=0), 17)[1]["patience"] == 0


def test_explicit_epochs_keep_todays_behaviour():
    epochs, plan = resolve_budget(TrainConfig(epochs=3, early_stopping_patience=1), 17)
    assert (epochs, plan["planned_steps"], plan["patience"]) == (3, 51, 1)


def test_auto_warmup_is_a_fraction_of_the_planned_steps():
    t = TrainConfig(warmup_fraction=0.1)
    epochs, plan = resolve_budget(t, 17)
    schedule = build_optimizer(t, 17 * epochs)._learning_rate  # the WarmupDecay it was given
    assert schedule.total_steps == 306 and schedule.warmup_steps == 31  # round(0.1 × 306)


def test_build_optimizer_refuses_an_unresolved_epoch_count():
    t = TrainConfig()  # epochs auto
    with pytest.raises(ValueError, match="resolve the epochs first"):
        build_optimizer(t, 17 * t.epochs)
