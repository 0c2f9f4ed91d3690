"""`tfbig pretrain`: masked-language modelling on an unlabelled corpus, from scratch or continued."""
from tfbig.commands.train import add_config_args


def register(sub) -> None:
    p = sub.add_parser("pretrain", help="masked-language pretraining on unlabelled text (from scratch or continued)")
    from tfbig.config import PretrainRunConfig

    add_config_args(p, PretrainRunConfig)
    p.set_defaults(func=run)


def run(args) -> int:
    from tfbig.commands.train import print_test_report
    from tfbig.config import PretrainRunConfig, load_config
    from tfbig.jobs.pretrain_job import check_pretrain_config, pretrain_run
    from tfbig.runs.rebuild import run_model_dir

    # The model folder is checked by the job: from scratch (mlm.preset) it gives only the vocabulary.
    cfg = load_config(args.config, args.set, cls=PretrainRunConfig, check_model=False)
    check_pretrain_config(cfg, run_model_dir(cfg))  # before TensorFlow starts: one line, exit 2
    report = pretrain_run(cfg)
    print(f"\nrun folder: {cfg.run_dir}")
    print(f"TensorBoard: tensorboard --logdir {cfg.run_dir}/logs")
    print_test_report(report, f"{cfg.name}, held-out {report.get('evaluated_on', 'validation')} batches")
    print(f"\nencoder (Hugging Face folder, for model.model_dir): {report['encoder']}")
    print(f"exported (fill-mask): {report['export']}")
    return 0
