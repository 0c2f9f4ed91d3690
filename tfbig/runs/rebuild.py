"""Rebuilds the model of any run kind from its config: a trained TaskModel, or a distilled student.

The one home of "config → model before its weights are loaded" for a finished run: `tfbig evaluate`,
`tfbig export` and a distillation's teachers all rebuild through `rebuild_model`.
"""
from tfbig.errors import UserError


def is_distilled(cfg) -> bool:
    """Whether `cfg` is a distillation run's config (a DistillRunConfig)."""
    from tfbig.distill.config import DistillRunConfig

    return isinstance(cfg, DistillRunConfig)


def is_pretrained(cfg) -> bool:
    """Whether `cfg` is a `tfbig pretrain` run's config (a PretrainRunConfig)."""
    from tfbig.config import PretrainRunConfig

    return isinstance(cfg, PretrainRunConfig)


def run_model_dir(cfg) -> str:
    """The model folder (tokenizer, and the backbone's pretrained weights) a run was trained from."""
    from tfbig.model_folder import default_model_dir

    return cfg.model.model_dir or default_model_dir()


def rebuild_model(cfg, model_dir: str, labels: list, load_teacher=None):
    """The built (called once) model of a run, with fresh weights; its final.weights are loaded by the caller.

    cfg: RunConfig or DistillRunConfig. A distilled student is shaped from its first teacher's run folder,
        which is rebuilt (with its weights: the student copies the teacher's layers) the same way.
    labels: list of str. The run's target vocabulary (class names), as its labels.txt holds it.
    load_teacher: callable(run_dir) -> model. How a distilled run's teacher folder is read back
        (RunFolder.load_model passes its own kind).
    """
    from tfbig.tasks.registry import get_task

    task = get_task(getattr(cfg, "task", "classification"), labels)
    if is_pretrained(cfg):
        from tfbig.data.tokenizer import read_vocab
        from tfbig.train.build import build_mlm_model, mlm_vocab_file

        return build_mlm_model(cfg, model_dir, task, len(read_vocab(mlm_vocab_file(cfg, model_dir))))
    if not is_distilled(cfg):
        from tfbig.train.build import build_task_model

        return build_task_model(cfg, model_dir, task, name="classifier")
    from tfbig.distill.student import student_of

    if not cfg.distill.teachers:
        raise UserError("the distillation run's config names no teacher (distill.teachers)")
    try:
        teacher = load_teacher(cfg.distill.teachers[0])
    except UserError as e:  # say why a teacher is read at all
        raise UserError(f"a distilled student is rebuilt from its teacher (distill.teachers[0]): {e}") from None
    return student_of(cfg, teacher, task)


def rebuild_in_policy(cfg, model, policy: str, labels: list, load_teacher=None):
    """`model`'s twin computing in Keras policy `policy` (an export in bfloat16 of a float32 run, say): rebuilt
    from `cfg` inside `policy`, with `model`'s weights copied through a checkpoint (matched by name, not order)."""
    import tempfile

    from tfbig.distribute.precision import policy_scope

    with policy_scope(policy):
        twin = rebuild_model(cfg, run_model_dir(cfg), labels, load_teacher)
    with tempfile.TemporaryDirectory() as tmp:
        path = model.save_weights(f"{tmp}/weights") or f"{tmp}/weights"
        twin.load_weights(path).expect_partial()  # the optimizer's slots are not needed
    return twin
