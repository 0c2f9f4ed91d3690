"""Tiny training runs shared by the tests of tfbig.train."""
import pytest

from tfbig.testing import write_tiny_folder_dataset


@pytest.fixture(scope="session")
def tiny_folder_data(tmp_path_factory):
    """36 texts in 3 class folders: 21 train, 7 validation, 8 test with tfbig.testing.tiny_run_overrides."""
    return write_tiny_folder_dataset(str(tmp_path_factory.mktemp("tiny_data")))
