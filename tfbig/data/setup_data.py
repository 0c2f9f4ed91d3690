"""Where the files `make setup` downloads are looked for: $TFBIG_DATA, else <venv>/tfbig-data (then any
folder the caller adds, such as a cache), so every reader of such a file finds it, and fails, the same way."""
import glob
import os
import sys

from tfbig.errors import UserError


def setup_data_folders(*extra: str) -> list:
    """The folders searched, in order: $TFBIG_DATA (when set), <venv>/tfbig-data, then `extra`."""
    return [f for f in (os.environ.get("TFBIG_DATA", ""), os.path.join(sys.prefix, "tfbig-data"), *extra) if f]


def find_setup_data(pattern: str, extra: tuple = ()) -> str | None:
    """The first folder's last (by name) file matching the glob `pattern`; None when no folder holds one."""
    for folder in setup_data_folders(*extra):
        found = sorted(glob.glob(os.path.join(folder, pattern)))
        if found:
            return found[-1]
    return None


def setup_data_file(pattern: str, what: str, requirement: str, extra: tuple = (), binary: bool = False) -> str:
    """The file `find_setup_data` finds, else a UserError naming `what`, the pattern, the folders searched and the
    `pip download` of `requirement` (an sdist, or a wheel when `binary`) that gets it.

    >>> setup_data_file("gensim-4.4.0-*.whl", "the Lee corpus", "gensim==4.4.0", binary=True)  # doctest: +SKIP
    """
    found = find_setup_data(pattern, extra)
    if found:
        return found
    kind = "--only-binary" if binary else "--no-binary"
    raise UserError(f"{what} ({pattern}) is in none of {', '.join(setup_data_folders(*extra))}: run `make setup`, "
                    f"or `pip download --no-deps {kind} :all: {requirement} -d <folder>` and set TFBIG_DATA=<folder>")
