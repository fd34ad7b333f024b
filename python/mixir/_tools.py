"""Finding MixIR's command-line tools from Python."""

import os
import pathlib
import shutil


def tool_path(name, env_var):
    """The path of tool `name`: $`env_var` when set, the build tree's bin/
    next to this package, or PATH; None when none has it."""
    env = os.environ.get(env_var)
    if env:
        return env
    built = pathlib.Path(__file__).resolve().parents[2] / "bin" / name
    if built.exists():
        return str(built)
    return shutil.which(name)
