"""data.source debtags: package descriptions and their tags from `apt-cache dumpavail`."""
import shutil

import pytest

from tfbig.data.debtags import parse_dumpavail, stanzas

DUMP = """Package: a
Version: 1
Description: first tool
Tag: role::program, use::editing,
 works-with::text

Package: b
Description: second tool
 with a long description
 .
 and a second paragraph
Tag: role::program, use::viewing

Package: a
Description: a again (another version)
Tag: role::program

Package: c
Description: untagged library

Package: d
Description: a data package
Tag: role::app-data
"""


def test_stanzas_join_continuation_lines():
    first = next(stanzas(DUMP))
    assert first["Tag"] == "role::program, use::editing,\nworks-with::text"


def test_tags_below_the_minimum_are_dropped_and_each_package_counted_once():
    examples = parse_dumpavail(DUMP, min_count=2)
    assert examples.texts == ["first tool", "second tool with a long description and a second paragraph",
                              "a data package"]
    assert examples.labels == [("role::program",), ("role::program",), ()]
    assert parse_dumpavail(DUMP, min_count=1).labels[0] == ("role::program", "use::editing", "works-with::text")


def test_this_machines_package_lists():
    if shutil.which("apt-cache") is None:
        pytest.skip("no apt-cache")
    from tfbig.config import load_config
    from tfbig.errors import UserError
    from tfbig.tasks.registry import get_task

    try:
        examples, stats = get_task("multilabel").read_examples(load_config(None, ["data.source=debtags"]).data)
    except UserError as e:
        pytest.skip(str(e))
    tags = {t for row in examples.labels for t in row}
    assert len(examples) > 10_000 and 50 < len(tags) < 600 and "role::program" in tags
    assert stats["empty_label_lists"] == sum(1 for row in examples.labels if not row)
