"""Run folders: reading and writing what a job leaves in `runs/<name>/`, and rebuilding its model."""
from tfbig.runs.folder import RunFolder
from tfbig.runs.lock import folder_lock
from tfbig.runs.rebuild import rebuild_model

__all__ = ["RunFolder", "folder_lock", "rebuild_model"]
