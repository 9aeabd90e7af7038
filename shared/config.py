"""Service configuration: YAML files whose values may name environment variables.

``${VAR}`` and ``${VAR:default}`` are replaced by the variable's value (or the default), the
same syntax ``nameko run --config`` understands, so one file serves nameko and our own tools.
"""
import os
import re

import yaml

ENV_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<default>[^}]*))?\}")


def expand_environment(text, environ=None):
    """Return ``text`` with every ``${VAR:default}`` replaced from ``environ``."""
    environ = os.environ if environ is None else environ

    def substitute(match):
        name, default = match.group("name"), match.group("default")
        if name in environ:
            return environ[name]
        if default is None:
            raise KeyError(f"configuration needs the environment variable {name}")
        return default

    return ENV_REFERENCE.sub(substitute, text)


def load_config(path, environ=None):
    """Read the YAML file at ``path`` into a dict, environment references expanded."""
    with open(path, encoding="utf-8") as config_file:
        return yaml.safe_load(expand_environment(config_file.read(), environ)) or {}
