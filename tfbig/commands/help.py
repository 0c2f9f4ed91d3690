"""`tfbig COMMAND --help`: every option with its default, and for config-driven commands every config key."""
import argparse
import dataclasses


def default_text(action) -> str:
    """How an option's default reads in --help: its value, `off` for a flag, `none` when unset."""
    if action.default is None or action.default == []:
        return "none"
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
        return "on" if action.default else "off"
    return str(action.default)


class DefaultsFormatter(argparse.RawDescriptionHelpFormatter):
    """Appends "(default: X)" to every option's help that does not already state it."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.default is argparse.SUPPRESS or not action.option_strings or "default" in text:
            return text
        return f"{text} (default: {default_text(action)})".strip()


def show_every_default(parser: argparse.ArgumentParser) -> None:
    """Gives every option a help line, so the formatter can print its default (argparse skips empty help)."""
    parser.formatter_class = DefaultsFormatter
    for action in parser._actions:
        if action.help is None and action.option_strings:
            action.help = action.dest.replace("_", " ")


def config_keys(cfg) -> list:
    """(dotted key, default) of every field of a config dataclass instance, sections flattened."""
    rows = []
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            rows += [(f"{f.name}.{key}", v) for key, v in config_keys(value)]
        else:
            rows.append((f.name, value))
    return rows


def config_epilog(cfg_cls) -> str:
    """The config keys `--set` takes, with their defaults (the same as a YAML file's)."""
    rows = config_keys(cfg_cls())
    width = max(len(k) for k, _ in rows)
    lines = [f"  {key:<{width}}  {value!r}" for key, value in rows]
    return "config keys (--set KEY=VALUE or in the YAML file) and their defaults:\n" + "\n".join(lines)
