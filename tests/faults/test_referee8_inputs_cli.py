"""Referee round 8, unknown arguments: an option no command takes (``run --reusme``, ``report
--trial``, ``synth --sed``) or a second CONFIG got 'unrecognized arguments: X; see jetstudy
--help' under the top command's usage: no guess, no list of what the command takes, and the
wrong help to read. The subcommand now refuses it, names the option meant (or the command that
has it) and lists its own arguments and options."""

from __future__ import annotations

import pytest

from tests.faults.conftest import argparse_refusal


@pytest.mark.parametrize("args, named, lists, meant", [
    (["run", "--frobnicate"], "--frobnicate", "jetstudy run takes at most one CONFIG and the "
     "options --set, --resume, --address, --no-report, --no-figures, -v/--verbose", None),
    (["run", "--reusme"], "--reusme", "--resume", "(did you mean --resume?)"),
    (["run", "a.yaml", "b.yaml"], "b.yaml", "takes at most one CONFIG", None),
    (["synth", "out", "--sed", "3"], "--sed 3", "the options --jets, --seed, --jets-per-file",
     "(did you mean --seed?)"),
    (["report", "results", "--trial", "x"], "--trial x", "one RESULTS and the options "
     "-o/--out, --force, --no-figures", "(--trial is an option of jetstudy export)"),
    (["config", "--zzz"], "--zzz", "the options --defaults, --set, --plain", None),
])
def test_an_unknown_argument_lists_what_the_command_takes(
        args: list[str], named: str, lists: str, meant: str | None,
        capsys: pytest.CaptureFixture[str]) -> None:
    line, err = argparse_refusal(args, capsys)
    assert line.startswith(f"error: unrecognized arguments: {named}"), line
    assert lists in line and line.endswith(f"see jetstudy {args[0]} --help"), line
    assert f"usage: jetstudy {args[0]} " in err, err  # the command's usage, not the top one
    if meant:
        assert meant in line, line
    else:
        assert "did you mean" not in line, line


def test_a_pasted_page_as_an_option_is_shown_cut_short(capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    line, _ = argparse_refusal(["run", "--" + "x" * 20_000], capsys)
    assert "... (20002 characters)" in line and len(line) < 500, line
