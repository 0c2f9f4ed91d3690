"""The part of a run on an unlabelled corpus (`tfbig pretrain`, `tfbig distill --stage general`) that does not
depend on what is learnt: the corpus data, its training and held-out batches, the split sizes."""
from dataclasses import dataclass

from tfbig.data.tokenizer import BertTextTokenizer
from tfbig.jobs.skeleton import Job

ENCODER_FOLDER = "encoder"  # runs/<name>/encoder: the trained encoder's Hugging Face folder
EVAL_BATCHES = 50  # without a held-out slice, the report scores the first training batches


@dataclass
class CorpusData:
    """What the skeleton reads of a run's data, for an unlabelled corpus: no labelled splits."""
    tokenizer: BertTextTokenizer
    model_dir: str
    task: object  # the mlm Task, or the general-distillation target
    train_documents: object  # zero-arg callable → a fresh iterator of document strings
    val_documents: object  # the held-out slice, the same kind (None without one)
    splits: object = None  # no labelled splits (the skeleton's baseline is skipped)
    cleaning: dict = None


class CorpusJob(Job):
    """A Job whose data is a document stream: subclasses give `corpus_batches` (how documents become batches)
    and the model; `train` holds the training batches once `train_data` has made them."""

    train = None

    def corpus_batches(self, cfg, documents, tokenizer, batch_size: int):
        """The batches of a document stream (an EpochData-like object with `validation()`)."""
        raise NotImplementedError

    def documents(self, cfg):
        """(train, validation) document callables: `data.source`'s corpus, `data.val_fraction` held out (None
        when 0)."""
        from tfbig.data.corpora import corpus_documents
        from tfbig.data.mlm_batches import corpus_val_split

        d = cfg.data
        if not d.val_fraction:
            return corpus_documents(d), None
        return corpus_val_split(corpus_documents(d), d.val_fraction, d.seed)

    def train_data(self, cfg, data, model):
        self.train = self.corpus_batches(cfg, data.train_documents, data.tokenizer,
                                         cfg.data.batch_size * cfg.train.accumulation_steps)
        return self.train

    def val_data(self, cfg, data):
        if data.val_documents is None:
            return None
        return self.corpus_batches(cfg, data.val_documents, data.tokenizer, cfg.data.batch_size).validation()

    def eval_batches(self, val_ds):
        """(batches, where): the held-out batches, or the first training epoch's first EVAL_BATCHES."""
        if val_ds is not None:
            return val_ds, "validation"
        return self.train.epoch(0).take(EVAL_BATCHES), "train"

    def split_sizes(self, data):
        return {"train_batches_per_epoch": self.train.steps_per_epoch}
