"""tfbig: fine-tune, distil, distribute and serve transformer text models with TensorFlow.

The names below, imported from `tfbig` itself, are the supported Python API; modules under `tfbig.` are
internal and move between releases. `import tfbig` is fast: TensorFlow is imported when a name that needs it
is first used (which also selects tf-keras and quiets TensorFlow's start-up lines, see `tfbig.logs`).

| what                | names                                                                               |
|---------------------|-------------------------------------------------------------------------------------|
| config              | load_config, RunConfig, load_distill_config, DistillRunConfig, UserError            |
| jobs (= the CLI)    | train_run, distill_run, evaluate_path, export_run, serve_models (with ServeConfig)  |
| tasks               | Task, ClassificationTask, get_task, register_task, task_names                       |
| models for model.fit| TaskModel (TaskModel.from_pretrained), build_task_model, build_backbone, build_optimizer |
| data                | BertTextTokenizer, make_dataset, load_run_data, RunData                             |
| evaluation          | evaluate_split, predict_outputs                                                     |
| distillation        | DistillationModel, build_student, load_teacher, compute_teacher_logits, with_teacher_logits |
| hardware            | make_strategy                                                                       |
| runs and exports    | RunFolder, export_saved_model, SavedClassifier, SavedTaskModel, list_ops, non_core_ops |
| TensorFlow          | tf, keras (tf-keras, Keras 2: the Keras tfbig's models are built with)               |
| examples and tests  | write_tiny_bert_folder (a tiny random BERT folder, no network)                      |

A run, as `tfbig train` does it (the doctests run on a tiny random BERT):

>>> import tfbig
>>> bert = tfbig.write_tiny_bert_folder(str(tmp / "bert"))
>>> cfg = tfbig.load_config(None, [f"model.model_dir={bert}", f"data.source={data}", "data.max_length=32",
...                                "data.batch_size=4", "train.epochs=1", f"output_dir={tmp}/runs",
...                                f"export_dir={tmp}/saved_models"])
>>> report = tfbig.train_run(cfg)           # fit, test report, run folder, SavedModel
>>> classifier = tfbig.SavedClassifier(report["export"])  # raw text in, class names out
>>> classifier.predict(["the club win the game"]).labels[0] in ("market", "sport")
True

Keras all the way, from a local Hugging Face BERT folder:

>>> model = tfbig.TaskModel.from_pretrained(bert, task="classification", labels=["market", "sport"])
>>> tokenizer = tfbig.BertTextTokenizer.from_model_dir(bert, max_length=32)
>>> train_ds = tfbig.make_dataset(["the club win the game", "bank shares fell"], [1, 0], tokenizer, batch_size=2)
>>> model.compile(optimizer="adam")          # the loss is the task's: compile needs only the optimizer
>>> history = model.fit(train_ds, epochs=1, verbose=0)
>>> tfbig.predict_outputs(model, ["the game"], tokenizer, batch_size=2).shape
(1, 2)
"""
import importlib
import os

from tfbig.logs import quiet_native_logs

__version__ = "0.1.0"

# A user's own `import tensorflow` after `import tfbig` then gets tf-keras too (TensorFlow reads it at import).
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
quiet_native_logs()  # before anything imports TensorFlow (tensorflow_text does too): see tfbig.logs

# public name -> the module that defines it, or "module:name" where the public name differs
# (the one place to change when a module moves)
_EXPORTS = {
    "load_config": "tfbig.config",
    "RunConfig": "tfbig.config",
    "load_distill_config": "tfbig.distill.config",
    "DistillRunConfig": "tfbig.distill.config",
    "UserError": "tfbig.errors",
    "train_run": "tfbig.jobs.train_job",
    "distill_run": "tfbig.jobs.distill_job",
    "evaluate_path": "tfbig.evaluate.evaluation",
    "export_run": "tfbig.export.from_run",
    "Task": "tfbig.tasks.base",
    "ClassificationTask": "tfbig.tasks.classification",
    "get_task": "tfbig.tasks.registry",
    "register_task": "tfbig.tasks.registry",
    "task_names": "tfbig.tasks.registry",
    "TaskModel": "tfbig.train.task_model",
    "build_task_model": "tfbig.train.build",
    "build_backbone": "tfbig.models.backbone",
    "build_optimizer": "tfbig.train.optimizers",
    "BertTextTokenizer": "tfbig.data.tokenizer",
    "make_dataset": "tfbig.data.pipeline",
    "load_run_data": "tfbig.train.data",
    "RunData": "tfbig.train.data",
    "evaluate_split": "tfbig.train.evaluation",
    "predict_outputs": "tfbig.train.evaluation",
    "DistillationModel": "tfbig.distill.model",
    "build_student": "tfbig.distill.student",
    "load_teacher": "tfbig.jobs.distill_job",
    "compute_teacher_logits": "tfbig.distill.cache",
    "with_teacher_logits": "tfbig.distill.cache",
    "make_strategy": "tfbig.distribute.strategy",
    "RunFolder": "tfbig.runs.folder",
    "export_saved_model": "tfbig.export.saved_model",
    "SavedClassifier": "tfbig.export.loader",
    "SavedTaskModel": "tfbig.export.loader",
    "list_ops": "tfbig.export.ops",
    "non_core_ops": "tfbig.export.ops",
    "write_tiny_bert_folder": "tfbig.testing",
    "tf": "tfbig._keras",
    "keras": "tfbig._keras",
    # --- serve (issue 19): `tfbig serve`, TF Serving's REST API over exports, with dynamic batching ---
    # Not `serve`: that is the subpackage tfbig.serve, which importing it would set as tfbig.serve over the function.
    "serve_models": "tfbig.serve.server:serve",
    "ServeConfig": "tfbig.serve.config",
}

__all__ = ["__version__"] + sorted(_EXPORTS)


def __getattr__(name: str):
    """Imports a public name's module on first use (PEP 562), so `import tfbig` stays TensorFlow-free."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tfbig' has no attribute '{name}'")
    module, _, attr = module.partition(":")
    value = getattr(importlib.import_module(module), attr or name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
