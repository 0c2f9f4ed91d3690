"""Tasks by name: `task:` in the config picks one; `register_task` adds one from anywhere (a test file too)."""
import difflib

from tfbig.errors import UserError

_TASKS: dict = {}


def register_task(cls):
    """Class decorator: makes `cls` (a Task subclass with a `name`) available as `task: <name>`."""
    if not getattr(cls, "name", ""):
        raise ValueError(f"{cls.__name__} has no task name")
    _TASKS[cls.name] = cls
    return cls


def task_names() -> list:
    """Every task name `task:` accepts: the built-in ones and those registered so far."""
    _load_builtin()
    return sorted(_TASKS)


def get_task(name: str, labels: list | None = None):
    """A new task instance of the named kind; UserError with the closest name when unknown."""
    _load_builtin()
    if name not in _TASKS:
        close = difflib.get_close_matches(name, list(_TASKS), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise UserError(f"task '{name}' is not one of {', '.join(sorted(_TASKS))}{hint}")
    return _TASKS[name](labels)


def as_task(task_or_labels):
    """A Task from a Task, or from a list of class names (classification: older call sites and notebooks)."""
    if hasattr(task_or_labels, "encode"):
        return task_or_labels
    return get_task("classification", list(task_or_labels))


# The built-in tasks, imported the first time a task is looked up (each registers itself on import).
BUILTIN_MODULES = ("tfbig.tasks.classification", "tfbig.tasks.tagging")
BUILTIN_MODULES += ("tfbig.tasks.mlm",)  # masked-language modelling (tfbig pretrain)


def _load_builtin() -> None:
    import importlib

    for module in BUILTIN_MODULES:
        importlib.import_module(module)
