"""One epoch of fine-tuning on the Debian fortunes (short texts): length bucketing vs padding to max_length.

The same small random BERT (MiniLM's WordPiece vocabulary, hidden 256, 4 layers) and the same examples,
max_length 128, batch 32, Adam; each way starts from the same weights and is warmed up on 3 batches (the
first trace) before the timed epoch. Prints the share of pad tokens each way and the speed-up.

    python benchmarks/epoch.py
"""
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tfbig._keras import keras  # noqa: E402
from tfbig.config import RunConfig  # noqa: E402
from tfbig.data.clean import clean  # noqa: E402
from tfbig.data.fortunes import read_fortunes  # noqa: E402
from tfbig.data.pipeline import make_dataset, pad_share  # noqa: E402
from tfbig.data.split import label_vocabulary  # noqa: E402
from tfbig.data.tokenizer import BertTextTokenizer  # noqa: E402
from tfbig.model_folder import default_model_dir  # noqa: E402
from tfbig.train.build import build_classifier  # noqa: E402

MAX_LENGTH, BATCH, SEED = 128, 32, 0
SIZE = dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024,
            max_position_embeddings=512)


def small_bert_folder(path: str) -> str:
    """A random BERT of SIZE with the bundled model's vocabulary and tokenizer settings."""
    from safetensors.numpy import save_file

    from tfbig.testing import random_pt_state_dict, tiny_bert_config

    source = default_model_dir()
    os.makedirs(path, exist_ok=True)
    for name in ("vocab.txt", "tokenizer_config.json"):
        shutil.copy(os.path.join(source, name), path)
    with open(os.path.join(path, "vocab.txt"), encoding="utf-8") as f:
        vocab_size = sum(1 for _ in f)
    config = tiny_bert_config(vocab_size, **SIZE)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config, f)
    save_file(random_pt_state_dict(config, seed=SEED), os.path.join(path, "model.safetensors"))
    return path


def timed_epoch(model_dir, ds, num_classes):
    keras.utils.set_random_seed(SEED)
    model = build_classifier(RunConfig(), model_dir, num_classes)
    model.compile(optimizer=keras.optimizers.Adam(5e-5))
    model.fit(ds.take(3), epochs=1, verbose=0)  # trace
    start = time.perf_counter()
    history = model.fit(ds, epochs=1, verbose=0)
    return time.perf_counter() - start, history.history["loss"][-1]


def main():
    examples, _ = clean(read_fortunes())
    labels = label_vocabulary(examples.labels)
    ids = [labels.index(label) for label in examples.labels]
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = small_bert_folder(os.path.join(tmp, "small_bert"))
        tok = BertTextTokenizer.from_model_dir(model_dir, max_length=MAX_LENGTH)
        fixed = make_dataset(examples.texts, ids, tok, BATCH, shuffle=True, seed=SEED, static_shapes=True)
        bucketed = make_dataset(examples.texts, ids, tok, BATCH, shuffle=True, seed=SEED, bucketing=True)
        pads = {"fixed": pad_share(fixed), "bucketed": pad_share(bucketed)}
        print(f"{len(examples)} fortunes, {len(labels)} classes; max_length {MAX_LENGTH}, batch {BATCH}; "
              f"model: random BERT {SIZE}")
        seconds = {}
        for name, ds in (("fixed", fixed), ("bucketed", bucketed)):
            seconds[name], loss = timed_epoch(model_dir, ds, len(labels))
            print(f"{name:9s} padding: pad share {pads[name]:.3f}, epoch {seconds[name]:.1f} s, loss {loss:.3f}")
    speedup = seconds["fixed"] / seconds["bucketed"]
    print(f"speed-up of bucketing: {speedup:.2f}x")
    print(json.dumps({"pad_share_fixed": round(pads["fixed"], 4), "pad_share_bucketed": round(pads["bucketed"], 4),
                      "speedup": round(speedup, 3)}))


if __name__ == "__main__":
    main()
