"""needs.need: a missing optional package fails (never skips) the test and
names the package to install."""

import pytest

from needs import need


def test_present_package_is_returned():
    assert need("json").dumps([1]) == "[1]"


def test_missing_package_fails_naming_it():
    with pytest.raises(pytest.fail.Exception) as info:
        need("mixir_no_such_module", "mixir-no-such-package")
    message = str(info.value)
    assert "needs the Python package 'mixir-no-such-package'" in message
    assert "scripts/setup.sh --tests" in message
