"""User-facing errors: the CLI turns them into one line and exit status 2."""


class UserError(Exception):
    """Bad input from the user (a path, a file, a config value); the message names what and where."""


class TrainingDiverged(UserError):
    """The loss became NaN or infinite; the CLI exits with status 3 and the last good checkpoint is kept."""

    exit_status = 3
