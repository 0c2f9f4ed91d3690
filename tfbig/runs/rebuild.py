"""The model of a run folder, before its weights are loaded: one function for every kind of run."""
from tfbig.errors import UserError
from tfbig.models.folder import default_model_dir
from tfbig.tasks.registry import get_task
from tfbig.train.build import build_task_model


def rebuild_model(cfg, labels: list):
    """The TaskModel a run's config describes; a distilled student is shaped from its (first) teacher."""
    task = get_task(getattr(cfg, "task", "classification"), labels)
    model_dir = cfg.model.model_dir or default_model_dir()
    if not hasattr(cfg, "distill"):
        return build_task_model(cfg, model_dir, task, name="classifier")
    from tfbig.distill.student import build_student
    from tfbig.runs.folder import RunFolder

    if not cfg.distill.teachers:
        raise UserError("the distillation run's config names no teacher (distill.teachers)")
    teacher = RunFolder(cfg.distill.teachers[0]).load_model()  # the student copies its shapes (and layers)
    s, t, m = cfg.student, cfg.train, cfg.model
    return build_student(teacher, task, init=s.init, num_layers=s.num_layers,
                         teacher_layers=[int(i) for i in s.teacher_layers], preset=s.preset, backbone=m.backbone,
                         dropout=m.dropout, backbone_dropout=m.backbone_dropout, l2=t.l2, l1=t.l1,
                         penalty_exclude=t.penalty_exclude)
