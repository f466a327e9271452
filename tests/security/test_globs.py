"""Whether a search filter glob names the files a secret rule describes (`globs.names`)."""

from __future__ import annotations

import pytest
from orchestra.security.globs import names


@pytest.mark.parametrize(("filter_glob", "rule_glob", "expected"), [
    (".e*", ".env*", True),
    ("?env", ".env*", True),
    ("*env*", ".env*", True),
    ("[.]env", ".env*", True),
    ("*.env", ".env*", True),
    ("*.pe?", "*.pem", True),
    ("server.p*", "*.pem", True),
    ("*.[pP][eE][mM]".lower(), "*.pem", True),
    ("cred*", "credentials*", True),
    ("secrets/*", "secrets/**", True),
    ("*", ".env*", True),                      # everything includes .env
    ("*.json", "credentials*", False),         # only credentials.json matches both: neither names the other
    ("*.py", "credentials*", False),
    ("*s.json", "credentials*", False),
    ("*.test.ts", ".env*", False),
    ("*.txt", "secrets/**", False),
    ("**/*.txt", "**/secrets/**", False),
    ("e*", ".env*", False),                    # no file name both start with
    ("src/*.py", "**/secrets/**", False),
])
def test_a_filter_names_a_rule(filter_glob: str, rule_glob: str, expected: bool) -> None:
    assert names(filter_glob, rule_glob) is expected
