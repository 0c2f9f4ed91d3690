"""`tfbig plan`: the memory a run's training step will need, and whether it fits, before anything is read."""
import json


def register(sub) -> None:
    from tfbig.commands.train import add_config_args

    p = sub.add_parser("plan", help="print a run's memory plan (weights, gradients, slots, activations, peak)")
    add_config_args(p)
    p.add_argument("--device-memory", metavar="SIZE", help="e.g. 16GiB (default: the GPU's memory, else the RAM)")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--preset", help="plan a named geometry (tfbig.models.presets: tiny ... base, large) "
                                         "instead of the config's model folder")
    source.add_argument("--model-config", metavar="CONFIG_JSON", help="plan the geometry of a BERT config.json")
    p.add_argument("--num-labels", type=int, default=2, help="classes of the head (default 2)")
    p.add_argument("--json", action="store_true", help="print the plan as one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    from tfbig.config import load_config
    from tfbig.plan.from_config import plan_for_config
    from tfbig.plan.memory import format_plan, parse_bytes

    cfg = load_config(args.config, args.set)
    if cfg.train.precision == "auto":  # what the run would pick on this machine
        from tfbig.distribute.precision import resolve_precision

        cfg.train.precision = resolve_precision("auto", cfg.model.backbone, "default")
    device = parse_bytes(args.device_memory) if args.device_memory else None
    plan = plan_for_config(cfg, device, preset=args.preset or "", model_config=args.model_config or "",
                           num_labels=args.num_labels)
    print(json.dumps(plan.to_dict()) if args.json else format_plan(plan))
    return 0 if plan.fits else 1
