"""`tfbig distill --stage general`: a BERT folder teaches a smaller encoder on an unlabelled corpus, through the
run skeleton — so strategy, precision, accumulation and kill-and-resume (the corpus position included) come
with it. The student is written as a Hugging Face BERT folder (`runs/<name>/encoder`) that `model.model_dir`
of `tfbig train` or `tfbig distill` (student.init teacher) reads.
"""
import logging
import os

from tfbig.data.tokenizer import BertTextTokenizer
from tfbig.distill.config import parse_layer_map
from tfbig.distill.general import GeneralDistillationModel, GeneralDistillTarget, student_encoder
from tfbig.jobs.corpus_job import ENCODER_FOLDER, CorpusData, CorpusJob
from tfbig.jobs.skeleton import run_job
from tfbig.model_folder import check_model_folder, default_model_dir

log = logging.getLogger(__name__)


class GeneralDistillJob(CorpusJob):
    kind = "general_distill"

    def __init__(self):
        self.model = None

    def corpus_batches(self, cfg, documents, tokenizer, batch_size: int):
        """The unmasked, packed batches of a document stream: the teacher's and student's inputs."""
        from tfbig.data.mlm_batches import CorpusEpochData

        return CorpusEpochData(documents, tokenizer, cfg.data.max_length, batch_size, seed=cfg.seed,
                               packing=cfg.data.packing, masking=False)

    def load_data(self, cfg):
        model_dir = cfg.model.model_dir or default_model_dir()
        check_model_folder(model_dir)
        tokenizer = BertTextTokenizer.from_model_dir(model_dir, cfg.data.max_length)
        train, val = self.documents(cfg)
        log.info("general distillation of %s on %s", model_dir, cfg.data.source)
        return CorpusData(tokenizer, model_dir, GeneralDistillTarget(), train, val, cleaning={})

    def build_model(self, cfg, data):
        from tfbig.models.encoder import BertEncoder

        g = cfg.general
        teacher = BertEncoder.from_pretrained(data.model_dir, name="teacher", hidden_dropout_prob=0.0,
                                              attention_probs_dropout_prob=0.0)
        student = student_encoder(teacher, g.preset, name="student", num_hidden_layers=g.num_hidden_layers,
                                  hidden_size=g.hidden_size, num_attention_heads=g.num_attention_heads,
                                  intermediate_size=g.intermediate_size)
        self.model = GeneralDistillationModel(teacher, student, parse_layer_map(g.layer_map) or None,
                                              g.embedding_weight, g.hidden_weight, g.attention_weight,
                                              accumulation_steps=cfg.train.accumulation_steps,
                                              name="general_distillation")
        log.info("student %s (%d parameters), teacher %d parameters, layer map %s", student_shape(student),
                 student.count_params(), teacher.count_params(), [tuple(p) for p in self.model.layer_map])
        return self.model

    def served_model(self, model):
        return model.student

    def evaluate(self, cfg, data, served, val_ds):
        """The distillation terms on the held-out slice (the first training batches without one)."""
        ds, where = self.eval_batches(val_ds)
        log.info("evaluating the general-distillation terms on the %s batches", where)
        logs = self.model.evaluate(ds, return_dict=True, verbose=0)
        return {**{k: float(v) for k, v in logs.items()}, "evaluated_on": where}

    def report_extras(self, cfg, data, model, report):
        return {"student_shape": student_shape(model.student), "student_params": int(model.student.count_params()),
                "teacher_params": int(model.teacher.count_params()), "layer_map": [list(p) for p in model.layer_map],
                "corpus_tokens_per_epoch": self.train.rows_per_epoch * cfg.data.max_length,
                "teacher": data.model_dir}

    def export(self, cfg, data, served, folder):
        """The student as a Hugging Face BERT folder (no SavedModel: an encoder alone serves no task)."""
        from tfbig.models.hf_writer import write_bert_folder

        path = write_bert_folder(served, data.tokenizer, os.path.join(folder.path, ENCODER_FOLDER))
        log.info("student encoder written as a Hugging Face folder: %s", path)
        return {"encoder": path}


def student_shape(encoder) -> str:
    """"L4-H256-A4-I1024": layers, hidden size, heads, feed-forward width."""
    return (f"L{encoder.num_hidden_layers}-H{encoder.hidden_size}-A{encoder.num_attention_heads}"
            f"-I{encoder.intermediate_size}")


def general_distill_run(cfg, extra_callbacks: list | None = None, job: GeneralDistillJob | None = None) -> dict:
    """Distils `model.model_dir` into the student `cfg.general` describes on `data.source`'s corpus; writes the
    run folder and the student's Hugging Face folder (report["encoder"]); returns the report."""
    return run_job(cfg, job or GeneralDistillJob(), extra_callbacks)
