"""`orchestra` itself: what it says about the version it is, before any command."""

from __future__ import annotations

import pytest
from orchestra import __version__
from orchestra.cli import main


def test_version_names_the_pack_version_that_doctor_and_install_report(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"orchestra {__version__}\n"
