"""The README stays true: every config field is documented with its real default, and the two
commands it names exist in the Makefile and CI."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from jetstudy.study.config import SECTIONS, StudyConfig

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()
FIELDS = [(s, f.name) for s, cls in SECTIONS.items() for f in dataclasses.fields(cls)]


@pytest.mark.parametrize(("section", "name"), FIELDS, ids=[f"{s}.{n}" for s, n in FIELDS])
def test_every_config_field_is_documented_with_its_default(section: str, name: str) -> None:
    row = re.search(rf"^\| `{section}\.{name}` \| `([^`]*)` \|", README, re.M)
    assert row, f"README's config table lacks {section}.{name}"
    documented = yaml.safe_load(row.group(1).replace("1e-", "1.0e-"))
    actual = getattr(getattr(StudyConfig(), section), name)
    actual = list(actual) if isinstance(actual, tuple) else actual
    assert documented == actual


def test_the_two_commands_exist() -> None:
    makefile = (REPO / "Makefile").read_text()
    assert "make demo" in README and "make test" in README
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (REPO / ".ci" / "run").read_text()
