"""`tfbig distill`: train a small student from a fine-tuned teacher run, evaluate it, export it alone."""
from tfbig.commands.train import add_config_args


def register(sub) -> None:
    p = sub.add_parser("distill", help="distil a teacher run into a smaller student, evaluate it, export it")
    p.add_argument("--teacher", action="append", default=[], metavar="RUN_DIR",
                   help="run folder written by `tfbig train` (repeatable: several teachers)")
    p.add_argument("--stage", choices=("task", "general"), default="task",
                   help="task: a fine-tuned teacher run → a student of its task (default); general: the BERT folder "
                        "model.model_dir → a smaller encoder on the unlabelled corpus data.source (general.* keys)")
    from tfbig.distill.config import DistillRunConfig

    add_config_args(p, DistillRunConfig)
    p.set_defaults(func=run)


def run(args) -> int:
    if getattr(args, "stage", "task") == "general":
        return run_general(args)
    from tfbig.commands.train import print_test_report
    from tfbig.distill.config import load_distill_config
    from tfbig.jobs.distill_job import distill_run

    cfg = load_distill_config(args.config, args.set, teachers=args.teacher)
    report = distill_run(cfg)
    print(f"\nrun folder: {cfg.run_dir}")
    print(f"TensorBoard: tensorboard --logdir {cfg.run_dir}/logs")
    print_test_report(report, f"student {cfg.name}")
    if "share_of_teacher_accuracy" in report:
        print(f"\nteacher accuracy {report['teacher_accuracy']:.4f}; the student keeps "
              f"{report['share_of_teacher_accuracy']:.1%}")
    print(f"{report['student_params']:,} parameters against the teacher's {report['teacher_params']:,}")
    if report.get("cache_speedup_estimate"):
        print(f"teacher logits cached in {report['teacher_logits_seconds']:.1f} s; a distillation epoch is about "
              f"{report['cache_speedup_estimate']:.2f}x faster than with the teacher live")
    print(f"\nexported: {report['export']}")
    return 0


def run_general(args) -> int:
    from tfbig.distill.config import load_general_config
    from tfbig.errors import UserError
    from tfbig.jobs.general_distill_job import general_distill_run

    if args.teacher:
        raise UserError("--stage general reads its teacher from model.model_dir (a BERT folder), not --teacher")
    cfg = load_general_config(args.config, args.set)
    report = general_distill_run(cfg)
    print(f"\nrun folder: {cfg.run_dir}")
    print(f"student {report['student_shape']}: {report['student_params']:,} parameters against the teacher's "
          f"{report['teacher_params']:,}; {report['evaluated_on']} loss {report['loss']:.4f}")
    print(f"student encoder (model.model_dir for tfbig train / distill): {report['encoder']}")
    return 0
