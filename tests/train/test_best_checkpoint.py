"""Best checkpoint and early stopping: the best epoch's weights are kept, restored on stop, and resumable."""
import os

import numpy as np

from tfbig._keras import keras
from tfbig.train.callbacks import BestCheckpoint


def _model():
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    model.build((None, 3))
    return model


def test_best_weights_are_saved_and_restored_on_early_stop(tmp_path):
    model = _model()
    cb = BestCheckpoint(str(tmp_path), monitor="val_loss", patience=2)
    cb.set_model(model)
    weights = {}
    for epoch, val_loss in enumerate([0.9, 0.5, 0.7]):
        model.set_weights([np.full_like(w, epoch) for w in model.get_weights()])
        weights[epoch] = model.get_weights()
        cb.on_epoch_end(epoch, {"val_loss": val_loss})
    assert (cb.best, cb.best_epoch, cb.wait, model.stop_training) == (0.5, 1, 1, False)
    assert os.path.basename(cb.best_path) == "best-002.weights"

    resumed = BestCheckpoint(str(tmp_path), monitor="val_loss", patience=2)  # a rerun after a kill
    resumed.load_state(cb.state())
    resumed.set_model(model)
    model.set_weights([np.full_like(w, 3) for w in model.get_weights()])
    resumed.on_epoch_end(3, {"val_loss": 0.6})
    assert model.stop_training and resumed.state()["stopped"]
    for a, b in zip(model.get_weights(), weights[1]):
        np.testing.assert_array_equal(a, b)  # the best epoch's weights are back


def test_max_mode_for_accuracy_and_obsolete_files_removed(tmp_path):
    model = _model()
    cb = BestCheckpoint(str(tmp_path), monitor="val_accuracy")
    cb.set_model(model)
    cb.on_epoch_end(0, {"val_accuracy": 0.5})
    cb.on_epoch_end(1, {"val_accuracy": 0.75})
    assert cb.best == 0.75 and cb.best_epoch == 1
    cb.after_checkpoint()
    assert sorted(f.split(".")[0] for f in os.listdir(tmp_path) if f.startswith("best")) == ["best-002"] * 2
