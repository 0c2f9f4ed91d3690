"""The memory plan: parameter counts equal the built model's; an impossible plan says by how much."""
import json
import re

import pytest

from tfbig.cli import main
from tfbig.config import load_config
from tfbig.errors import UserError
from tfbig.models.presets import preset
from tfbig.plan.memory import GIB, format_plan, parse_bytes, plan_memory


def test_counts_equal_the_built_models(tiny_bert_dir):
    from tfbig.train.build import build_classifier

    sets = ["data.max_length=32", f"model.model_dir={tiny_bert_dir}", "model.lora.rank=4",
            "model.lora.targets=query,value,output"]
    model = build_classifier(load_config(None, sets), tiny_bert_dir, 3)
    geometry = json.load(open(f"{tiny_bert_dir}/config.json"))
    plan = plan_memory(geometry, 4, 32, lora_rank=4, lora_targets=("query", "value", "output"), num_labels=3)
    # count_params would add the metrics' totals and the dropout RNG states, which are no weights
    weights = [v for v in model.backbone.weights + model.head.weights if v.dtype.is_floating]
    assert plan.params == sum(int(v.shape.num_elements()) for v in weights)
    trained = sum(int(v.shape.num_elements()) for v in model.trainable_variables)
    assert plan.trainable_params == trained
    assert plan.gradient_bytes == 4 * trained and plan.optimizer_bytes == 8 * trained  # Adam: two slots


def test_bert_base_and_large_have_their_published_sizes():
    from tfbig.plan.memory import count_params

    for name, size in (("base", 109_482_240), ("large", 335_141_888)):  # bert-*-uncased with the pooler
        counts = count_params(preset(name))
        assert counts["total"] - counts["head"] == size


def test_recompute_and_lora_shrink_what_is_kept():
    base = preset("base")
    plain = plan_memory(base, 8, 512)
    recomputed = plan_memory(base, 8, 512, recompute="blocks")
    lora = plan_memory(base, 8, 512, lora_rank=8)
    assert recomputed.activation_bytes_per_example < plain.activation_bytes_per_example / 4
    assert lora.trainable_params / lora.params < 0.01
    assert lora.optimizer_bytes < 0.05 * plain.optimizer_bytes
    assert plan_memory(base, 8, 512, precision="mixed_bfloat16").activation_bytes_per_example < \
        plain.activation_bytes_per_example


def test_the_peak_is_the_sum_of_its_parts_with_the_runtime_working_set():
    from tfbig.plan.memory import RUNTIME_WORKING_SET

    # 1 × 64 tokens: the build-time weight copies outweigh the step's tensors; 8 × 512: the step's tensors do
    for batch, length, copies_dominate in ((1, 64, True), (8, 512, False)):
        plan = plan_memory(preset("base"), batch, length)
        step = plan.gradient_bytes + batch * plan.activation_bytes_per_example + plan.workspace_bytes
        assert (plan.runtime_bytes > step) == copies_dominate
        assert plan.working_set_bytes == RUNTIME_WORKING_SET == 400 * 1024 ** 2
        assert plan.peak_bytes == (plan.weight_bytes + plan.optimizer_bytes + plan.cast_bytes
                                   + plan.working_set_bytes + max(plan.runtime_bytes, step))
    assert "runtime working set" in format_plan(plan)


def test_an_impossible_plan_says_by_how_much_it_does_not_fit(capsys):
    code = main(["plan", "--preset", "large", "--set", "data.batch_size=512", "--set", "data.max_length=512",
                 "--set", "train.precision=float32", "--device-memory", "1GiB"])
    out = capsys.readouterr().out
    assert code == 1
    plan = plan_memory(preset("large"), 512, 512, device_bytes=GIB)
    assert not plan.fits and plan.max_batch == 0
    over = (plan.peak_bytes - GIB) / GIB
    line = out.strip().splitlines()[-1]
    assert line.startswith("does not fit") and f"{over:.2f} GiB more than the 1.00 GiB" in line
    assert "no batch fits" in line
    assert re.search(r"parameters\s+335,1\d\d,\d\d\d", out)  # BERT-large: 335M with the pooler and a head


def test_a_batch_too_large_gets_the_largest_that_fits_and_the_accumulation(capsys):
    plan = plan_memory(preset("base"), 64, 512, device_bytes=8 * GIB)
    assert not plan.fits and 0 < plan.max_batch < 64
    assert plan_memory(preset("base"), plan.max_batch, 512, device_bytes=8 * GIB).fits
    assert not plan_memory(preset("base"), plan.max_batch + 1, 512, device_bytes=8 * GIB).fits
    assert plan.accumulation_steps == -(-64 // plan.max_batch)
    assert f"train.accumulation_steps={plan.accumulation_steps}" in format_plan(plan)
    code = main(["plan", "--preset", "base", "--set", "data.max_length=512", "--set", "data.batch_size=8",
                 "--set", "train.precision=float32", "--device-memory", "16GiB", "--json"])
    assert code == 0 and json.loads(capsys.readouterr().out)["fits"] is True


def test_sizes_parse_and_bad_ones_are_named():
    assert parse_bytes("16GiB") == 16 * GIB and parse_bytes("512MiB") == 512 * 1024 ** 2
    assert parse_bytes("1.5GB") == 1_500_000_000 and parse_bytes("2e9") == 2_000_000_000
    with pytest.raises(UserError, match="--device-memory 'lots'"):
        parse_bytes("lots")
