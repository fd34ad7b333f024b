"""Optional Python packages of the tests.

A test that needs a package `make test` installs (scripts/setup.sh --tests)
fails, naming the package, when it is missing: a missing install step must
show up as a failure, never as a skip.
"""

import importlib

import pytest


def need(module, package=None):
    """Imports and returns `module`; fails the calling test (or, at module
    level, the collection of its file) when it cannot be imported."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        pytest.fail(f"this test needs the Python package '{package or module}' "
                    f"({e}); `scripts/setup.sh --tests` installs it",
                    pytrace=False)
