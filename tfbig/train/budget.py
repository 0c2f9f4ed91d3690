"""The training budget: how many epochs a run plans, from the data's size when `train.epochs` is auto.

A fixed epoch count tuned on one corpus starves a small one: 3 epochs of BBC are 141 steps, 3 epochs of 505
short texts are 51, and validation loss was still falling fast there. `auto` plans enough epochs for
`train.min_steps` optimizer steps, at most `train.max_epochs`, and lets early stopping on validation
(patience ≥ AUTO_PATIENCE, best weights restored) end the run sooner. Warmup and decay are fractions of the
planned steps, so the schedule stretches with the plan.
"""
import math

AUTO_PATIENCE = 2  # with epochs auto, early stopping waits at least this many epochs without improvement


def plan_epochs(steps_per_epoch: int, min_steps: int = 300, max_epochs: int = 20) -> int:
    """The fewest epochs whose steps reach `min_steps`, between 1 and `max_epochs`.

    >>> plan_epochs(17), plan_epochs(47), plan_epochs(400), plan_epochs(5)
    (18, 7, 1, 20)
    """
    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be at least 1, got {steps_per_epoch}")
    return max(1, min(int(max_epochs), math.ceil(min_steps / steps_per_epoch)))


def resolve_budget(train_cfg, steps_per_epoch: int) -> tuple[int, dict]:
    """(epochs, plan) for a run whose epoch has `steps_per_epoch` optimizer steps.

    An integer `train.epochs` is kept as it is, with its patience. `auto` plans `plan_epochs` epochs and raises
    the early-stopping patience to AUTO_PATIENCE (0, early stopping off, stays off). The plan —
    {steps_per_epoch, epochs, planned_steps, patience, why} — goes into the log and report.json's `budget`.
    """
    t = train_cfg
    if t.epochs != "auto":
        epochs, patience = int(t.epochs), int(t.early_stopping_patience)
        why = f"train.epochs {epochs} as set"
    else:
        epochs = plan_epochs(steps_per_epoch, t.min_steps, t.max_epochs)
        patience = max(int(t.early_stopping_patience), AUTO_PATIENCE) if t.early_stopping_patience > 0 else 0
        needed = math.ceil(t.min_steps / steps_per_epoch)
        if needed > t.max_epochs:
            why = (f"epochs auto: {t.min_steps} steps (train.min_steps) would need {needed} epochs, capped at "
                   f"train.max_epochs {t.max_epochs}")
        else:
            why = f"epochs auto: the fewest epochs for train.min_steps {t.min_steps} steps"
        why += f"; early stopping (patience {patience}) may end sooner" if patience else ""
    plan = {"steps_per_epoch": int(steps_per_epoch), "epochs": epochs, "planned_steps": epochs * int(steps_per_epoch),
            "patience": patience, "why": why}
    return epochs, plan
