"""The README's "Command line" section and ``jetstudy --help`` agree: the same subcommands, the
options the README shows exist, the same exit statuses, the report path ``run`` prints and
``report``'s default folder. Both sides are read as text (README parsed, help captured)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jetstudy.study.cli import main

README = Path(__file__).parents[2] / "README.md"


def _section() -> str:
    text = README.read_text()
    start = text.index("## Command line\n")
    return text[start:text.index("\n## ", start + 1)]


def _readme_commands() -> list[list[str]]:
    block = re.search(r"```bash\n(.*?)```", _section(), re.S).group(1)
    return [line.split("#")[0].split() for line in block.splitlines()
            if line.startswith("jetstudy")]


def _bullet(start: str) -> str:
    """The README bullet of the Command line section that starts with ``start``."""
    section = _section()
    at = section.index(f"- {start}")
    end = section.find("\n- ", at + 1)
    return " ".join(section[at:end if end > 0 else None].split())


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as info:
        main([*argv, "--help"])
    assert info.value.code == 0
    return capsys.readouterr().out


def _subcommands(help_text: str) -> set[str]:
    return set(re.search(r"\{([\w,]+)\}", help_text).group(1).split(","))


def _options(help_text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", help_text))


def _readme_exit_codes() -> set[int]:
    """``- Exit status (...): 0 success; 1 ...; 2 ...`` -> {0, 1, 2, ...}."""
    listing = _bullet("Exit status").split("):", 1)[1]
    while re.search(r"\([^()]*\)", listing):  # asides, innermost first: they hold ';' too
        listing = re.sub(r"\([^()]*\)", "", listing)
    return {int(re.match(r"\s*(\d+)\s", part).group(1)) for part in listing.split(";")}


def _help_exit_codes(help_text: str) -> set[int]:
    """The codes of the ``exit status:`` part of a --help text."""
    part = help_text[help_text.index("exit status:"):]
    return {int(c) for c in re.findall(r"^ {2}(\d+) ", part, re.M)}


def test_readme_shows_every_subcommand_and_only_real_options(
        capsys: pytest.CaptureFixture[str]) -> None:
    top = _help(capsys)
    commands = _readme_commands()
    shown = {words[1] for words in commands if not words[1].startswith("-")}
    assert shown == _subcommands(top), "README's Command line lists other subcommands"
    for words in commands:
        cmd = words[1] if not words[1].startswith("-") else None
        options = _options(_help(capsys, cmd) if cmd else top)
        for word in words[1:]:
            flag = word.strip("[]").split("=")[0]
            if flag.startswith("-"):
                assert flag in options, f"README: jetstudy {cmd or ''} {flag} is no option"


def test_exit_statuses_are_the_same_in_readme_and_help(
        capsys: pytest.CaptureFixture[str]) -> None:
    from jetstudy.study.cli import EXIT_CODES

    readme = _readme_exit_codes()
    listed = _help_exit_codes(_help(capsys))
    assert readme == listed == set(EXIT_CODES), (readme, listed)
    assert {0, 1, 2, 3, 130} <= readme
    assert _help_exit_codes(_help(capsys, "run")) == readme


def test_run_and_report_outputs_are_described_alike(capsys: pytest.CaptureFixture[str]) -> None:
    printed = re.search(r"`(report: [^`]+)`", _bullet("`run` ends")).group(1)
    assert printed == "report: RESULTS/report/index.html"
    assert printed in " ".join(_help(capsys, "run").split())
    # report -o: the default folder, in both
    readme = _bullet("`report` takes")
    assert "`report/` of the results folder" in readme and "`-o OUT`" in readme
    out_help = " ".join(_help(capsys, "report").split())
    assert "default: report/ in the results folder, or beside a lone trials table" in out_help
