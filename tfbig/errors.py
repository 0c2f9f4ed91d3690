"""User-facing errors: the CLI turns them into one line and exit status 2."""


class UserError(Exception):
    """Bad input from the user (a path, a file, a config value); the message names what and where."""
