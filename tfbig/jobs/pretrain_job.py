"""`tfbig pretrain`: masked-language modelling on an unlabelled corpus, through the same run skeleton as
`tfbig train` — so strategies, precision, accumulation and kill-and-resume (the corpus position included:
batches are a pure function of (seed, epoch)) come with it.

From scratch (`mlm.preset`) or continued (`model.model_dir`); a held-out slice of the documents
(`data.val_fraction`) gives the validation loss after each epoch and the final report; the encoder is
written as a Hugging Face folder (`runs/<name>/encoder`) and the SavedModel has a fill-mask signature.
"""
import logging
import os

from tfbig._keras import keras, tf
from tfbig.data.tokenizer import BertTextTokenizer, read_vocab
from tfbig.errors import UserError
from tfbig.jobs.corpus_job import ENCODER_FOLDER, CorpusData, CorpusJob
from tfbig.jobs.skeleton import run_job
from tfbig.model_folder import check_model_folder, default_model_dir, tokenizer_settings
from tfbig.tasks.fill_mask import mask_id_of
from tfbig.tasks.mlm import report_from_values
from tfbig.tasks.registry import get_task
from tfbig.train.build import build_mlm_model, mlm_vocab_file

log = logging.getLogger(__name__)

def pretrain_tokenizer(cfg, model_dir: str) -> BertTextTokenizer:
    """The run's tokenizer: `mlm.vocab` or the model folder's vocabulary, which must hold [MASK]."""
    path = mlm_vocab_file(cfg, model_dir)
    if not os.path.isfile(path):
        raise UserError(f"mlm.vocab: vocabulary file not found: {path}")
    vocab = read_vocab(path)
    mask_id_of(vocab, path)
    settings = tokenizer_settings(model_dir)
    return BertTextTokenizer(vocab, lower_case=bool(settings["do_lower_case"]), max_length=cfg.data.max_length,
                             strip_accents=settings["strip_accents"])


def check_pretrain_config(cfg, model_dir: str) -> None:
    """What the model contradicts, before anything is read: a vocabulary without [MASK], the preset's name, and
    data.max_length against the positions of the encoder that will be trained (the preset's, or the checkpoint's)."""
    from tfbig.config import check_choice, validate_against_model
    from tfbig.models.presets import PRESETS

    path = mlm_vocab_file(cfg, model_dir)
    if not os.path.isfile(path):
        raise UserError(f"mlm.vocab: vocabulary file not found: {path}")
    mask_id_of(read_vocab(path), path)
    if not cfg.mlm.preset:
        validate_against_model(cfg, model_dir)
        return
    check_choice(cfg.mlm.preset, PRESETS, "mlm.preset")
    positions = PRESETS[cfg.mlm.preset]["max_position_embeddings"]
    if cfg.data.max_length > positions:
        raise UserError(f"data.max_length {cfg.data.max_length} is larger than mlm.preset {cfg.mlm.preset!r}'s "
                        f"max_position_embeddings {positions}; set data.max_length to at most {positions}")


def labelled_split_texts(cfg):
    """(train, validation) document callables of a labelled corpus (`data.source` bbc, fortunes, a CSV, ...):
    the texts of the splits `tfbig train` makes with the same data.seed, fractions and limit_per_class, labels
    dropped. The test split's texts are never returned, so a later fine-tune is scored on unseen text."""
    from tfbig.data.split import limit_per_class

    d = cfg.data
    task = get_task("classification")
    examples, _ = task.read_examples(d)
    splits = task.split(limit_per_class(examples, d.limit_per_class), d.test_fraction, d.val_fraction, d.seed)
    train, val = list(splits.train.texts), list(splits.val.texts)
    log.info("mlm.labelled_splits: %d training texts, %d validation texts; %d test texts left out", len(train),
             len(val), len(splits.test))
    return (lambda: iter(train)), ((lambda: iter(val)) if val else None)


class StepMetrics(keras.callbacks.Callback):
    """Per step, to TensorBoard (`logs/steps`): the running MLM loss, masked accuracy and perplexity."""

    NAMES = ("mlm_loss", "masked_accuracy", "perplexity")

    def __init__(self, logdir: str):
        super().__init__()
        self.logdir, self.writer = logdir, None

    def on_train_begin(self, logs=None):
        self.writer = tf.summary.create_file_writer(self.logdir)

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        with self.writer.as_default(step=step):
            for name in self.NAMES:
                if name in (logs or {}):
                    tf.summary.scalar(name, float(logs[name]))

    def on_train_end(self, logs=None):
        self.writer.flush()


class PretrainJob(CorpusJob):
    kind = "pretrain"

    def corpus_batches(self, cfg, documents, tokenizer, batch_size: int):
        """The masked, packed batches of a document stream (tfbig.data.mlm_batches.CorpusEpochData)."""
        from tfbig.data.mlm_batches import CorpusEpochData

        d = cfg.data
        return CorpusEpochData(documents, tokenizer, d.max_length, batch_size, seed=cfg.seed,
                               packing=getattr(d, "packing", True), mask_rate=getattr(d, "mask_rate", 0.15),
                               whole_word=getattr(d, "whole_word_masking", False))

    def documents(self, cfg):
        """(train, validation) document callables: `data.source`'s corpus, `data.val_fraction` held out (None
        when 0); with `mlm.labelled_splits` the texts of the train and validation splits `tfbig train` makes."""
        if cfg.mlm.labelled_splits:
            return labelled_split_texts(cfg)
        return super().documents(cfg)

    def load_data(self, cfg):
        model_dir = cfg.model.model_dir or default_model_dir()
        check_model_folder(model_dir)
        check_pretrain_config(cfg, model_dir)
        tokenizer = pretrain_tokenizer(cfg, model_dir)
        train, val = self.documents(cfg)
        log.info("pretraining on %s (%s)", cfg.data.source,
                 f"mlm.preset {cfg.mlm.preset}, from scratch" if cfg.mlm.preset else f"continuing {model_dir}")
        return CorpusData(tokenizer, model_dir, get_task("mlm"), train, val, cleaning={})

    def build_model(self, cfg, data):
        return build_mlm_model(cfg, data.model_dir, data.task, len(data.tokenizer.vocab))

    def evaluate(self, cfg, data, served, val_ds):
        """The held-out slice's MLM loss, masked accuracy and perplexity (the first training epoch's batches
        when nothing is held out)."""
        ds, where = self.eval_batches(val_ds)
        log.info("evaluating the masked-LM loss on the %s batches", where)
        logs = served.evaluate(ds, return_dict=True, verbose=0)
        return {**report_from_values(logs["mlm_loss"], logs["masked_accuracy"]), "evaluated_on": where}

    def export(self, cfg, data, served, folder):
        from tfbig.models.hf_writer import write_bert_folder

        out = super().export(cfg, data, served, folder)  # the SavedModel: fill-mask signature (the task's)
        out["encoder"] = write_bert_folder(served, data.tokenizer, os.path.join(folder.path, ENCODER_FOLDER))
        log.info("encoder written as a Hugging Face folder: %s", out["encoder"])
        return out


def pretrain_run(cfg, extra_callbacks: list | None = None, job: PretrainJob | None = None) -> dict:
    """Pretrains (masked-language modelling), evaluates on the held-out slice, writes the run folder, the
    encoder's Hugging Face folder and the fill-mask SavedModel; returns the report.

    job: a PretrainJob (tests pass one whose `documents`/`corpus_batches` give stand-in data).
    """
    callbacks = [StepMetrics(os.path.join(cfg.run_dir, "logs", "steps"))] + list(extra_callbacks or [])
    return run_job(cfg, job or PretrainJob(), callbacks)
