"""A run config → its MemoryPlan: the geometry from a preset, a config.json or the run's model folder."""
import json
import logging
import os

from tfbig.errors import UserError
from tfbig.plan.memory import MemoryPlan, format_plan, plan_memory, summary_line

log = logging.getLogger(__name__)


def machine_memory_bytes(meminfo: str = "/proc/meminfo") -> int:
    """The first GPU's memory when TensorFlow sees one, else this machine's RAM (MemTotal)."""
    try:
        from tfbig._keras import tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            total = tf.config.experimental.get_device_details(gpus[0]).get("memory_limit")
            if total:
                return int(total)
    except Exception:  # noqa: BLE001 - a plan without TensorFlow falls back to the RAM
        pass
    with open(meminfo, encoding="utf-8") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    raise UserError(f"{meminfo}: no MemTotal; give --device-memory")


def run_geometry(cfg, preset: str = "", model_config: str = "") -> dict:
    """BertEncoder arguments of the model `cfg` trains (a distillation's student), or of `preset` / the
    config.json at `model_config` when given. Reads no weights."""
    from tfbig.models.presets import preset as named_preset

    if preset:
        geometry = named_preset(preset)
    elif model_config:
        if not os.path.isfile(model_config):
            raise UserError(f"--model-config {model_config}: no such file")
        with open(model_config, encoding="utf-8") as f:
            try:
                geometry = json.load(f)
            except json.JSONDecodeError as e:
                raise UserError(f"{model_config}: not valid JSON (line {e.lineno}): {e.msg}") from None
    else:
        from tfbig.model_folder import default_model_dir, read_model_config

        geometry = read_model_config(cfg.model.model_dir or default_model_dir())
    missing = [k for k in ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                           "vocab_size") if k not in geometry]
    if missing:
        raise UserError(f"the model geometry has no {missing[0]} (a BERT config.json or a preset is needed)")
    student = getattr(cfg, "student", None)
    if student is not None and not (preset or model_config):
        from tfbig.distill.student import PRESETS as STUDENT_PRESETS

        if student.init == "teacher":
            geometry = {**geometry, "num_hidden_layers": len(student.teacher_layers) or student.num_layers}
        else:
            geometry = {**geometry, **STUDENT_PRESETS.get(student.preset, {})}
    return geometry


def plan_for_config(cfg, device_bytes: int | None = None, preset: str = "", model_config: str = "",
                    num_labels: int = 2) -> MemoryPlan:
    """The MemoryPlan of one training step of `cfg` (its precision must be resolved, not `auto`)."""
    m, t, d = cfg.model, cfg.train, cfg.data
    dropout = m.backbone_dropout if m.backbone_dropout >= 0 else None
    return plan_memory(run_geometry(cfg, preset, model_config), d.batch_size, d.max_length, precision=t.precision,
                       optimizer=t.optimizer, momentum=t.momentum, lora_rank=m.lora.rank,
                       lora_targets=tuple(m.lora.targets), lora_layer_norms=m.lora.layer_norms,
                       recompute=t.recompute, device_bytes=device_bytes or machine_memory_bytes(),
                       num_labels=num_labels, hidden_dropout=dropout, attention_dropout=dropout,
                       accumulation_steps=t.accumulation_steps)


def log_plan(cfg) -> None:
    """Logs the run's memory plan (one call at the start of every run); a plan that cannot be made is a warning."""
    try:
        plan = plan_for_config(cfg)
    except (UserError, OSError, KeyError) as e:
        log.warning("no memory plan: %s", e)
        return
    log.info("memory plan: %s", summary_line(plan))
    log.debug("memory plan (tfbig plan):\n%s", format_plan(plan))
