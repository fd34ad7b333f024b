"""Finding MixIR's command-line tools from Python."""

import os
import pathlib
import shutil
import sysconfig


def tool_path(name, env_var):
    """The path of tool `name`: $`env_var` when set, the build tree's bin/
    next to this package, the scripts folder of the environment `pip install`
    put this package into, or PATH; None when none has it."""
    env = os.environ.get(env_var)
    if env:
        return env
    for folder in (pathlib.Path(__file__).resolve().parents[2] / "bin",
                   pathlib.Path(sysconfig.get_path("scripts"))):
        if (folder / name).exists():
            return str(folder / name)
    return shutil.which(name)
