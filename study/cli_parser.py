"""The ``jetstudy`` command line's words: its parser (every command's options, argparse's
complaints as the one ``error: ...`` line) and its exit statuses as ``--help`` prints them.
:mod:`jetstudy.study.cli` parses with it and dispatches."""

from __future__ import annotations

import argparse
import sys
import textwrap
from typing import Any, NoReturn, Sequence

__all__ = ["EXIT_CODES", "EXIT_USER_ERROR", "EXIT_TRIALS_FAILED", "EXIT_INTERRUPTED",
           "build_parser"]

EXIT_USER_ERROR = 2
EXIT_TRIALS_FAILED = 3
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT (128 + 2)
#: Every exit status of ``jetstudy``, as ``--help`` prints them (the README's "Exit status"
#: list names the same codes; a test keeps the two equal).
EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "an unexpected error, with Python's traceback: a bug, please report it",
    EXIT_USER_ERROR: "a problem with your input: one line 'error: ...' naming the value and "
                     "the fix (also a malformed command line)",
    EXIT_TRIALS_FAILED: "run: the study finished, but some trials failed",
    EXIT_INTERRUPTED: "interrupted: Ctrl-C (or SIGTERM) stopped it; run writes its tables and "
                      "prints the --resume command",
}


def _exit_help() -> str:
    """The ``exit status:`` part of ``--help`` (argparse's raw epilog: wrapped here)."""
    return "exit status:\n" + "\n".join(
        textwrap.fill(what, 78, initial_indent=f"  {code:<5}", subsequent_indent=" " * 7)
        for code, what in EXIT_CODES.items())


#: The namespace attribute where :class:`_Once` keeps the options given so far in one parse
#: (removed when the parse ends: never an argument of a command).
_GIVEN = "_jetstudy_given"


class _Once(argparse._StoreAction):
    """An option that takes one value (``--address``, ``-o``, ``--trial``, ``--jets``, ...):
    given twice with two values it is refused, naming both. argparse kept the last in silence, and
    two values most likely mean two commands pasted together (``--trial a ... --trial b``
    exported b; ``-o x -o y`` wrote into y). ``--set`` is repeatable and keeps its own rule
    (:mod:`jetstudy.study.config_file`: the same field twice warns)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        given: dict[str, tuple[str, Any]] = namespace.__dict__.setdefault(_GIVEN, {})
        if self.dest in given and given[self.dest][1] != values:  # the same twice: harmless
            first_option, first = given[self.dest]
            name = "/".join(self.option_strings)
            again = f"{first_option} {first!r}, then {option_string} {values!r}"
            parser.error(f"{name} is given twice ({again}), and only one can be used: give it "
                         f"once (two commands pasted together?)")
        given[self.dest] = (option_string or self.dest, values)
        super().__call__(parser, namespace, values, option_string)


class _Parser(argparse.ArgumentParser):
    """argparse's complaints (an unknown option, ``--jets abc``) as the one ``error: ...`` line
    and exit status 2 of every other input problem; subcommands inherit it. An option that
    takes one value is refused when given twice (:class:`_Once`)."""

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        if args and str(args[0]).startswith("-") and kwargs.get("action", "store") == "store":
            kwargs["action"] = _Once
        return super().add_argument(*args, **kwargs)

    def parse_known_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                         namespace: argparse.Namespace | None = None,
                         ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        parsed.__dict__.pop(_GIVEN, None)
        return parsed, extras

    def error(self, message: str) -> NoReturn:
        from jetstudy.study.check_hints import option_choice_hint

        self.print_usage(sys.stderr)
        self.exit(EXIT_USER_ERROR, f"error: {message}{option_choice_hint(message)}; see "
                                   f"{self.prog} --help\n")

    def parse_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                   namespace: argparse.Namespace | None = None) -> argparse.Namespace:
        """An argument no command takes is refused by the subcommand's parser (its usage, its
        --help), naming its options and the one meant; argparse left that to the top parser:
        'unrecognized arguments: --reusme; see jetstudy --help'."""
        from jetstudy.study.check_hints import unknown_arguments_hint
        from jetstudy.study.checks import shorten

        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            commands = next(a for a in self._actions
                            if isinstance(a, argparse._SubParsersAction)).choices
            owner = commands.get(getattr(parsed, "command", None), self)
            owner.error(f"unrecognized arguments: {shorten(' '.join(extras))}"
                        f"{unknown_arguments_hint(extras, owner, commands)}")
        return parsed


def _whole(text: str) -> int:
    """An option's whole number; '1e5', '100k' or '2.0' say how to write it (argparse said
    only "invalid int value")."""
    try:
        return int(text)
    except ValueError:
        pass
    from jetstudy.study.check_hints import unit_number

    number = unit_number(text)
    if number is not None and float(number).is_integer():
        raise argparse.ArgumentTypeError(f"{text!r} is not written as a whole number: write "
                                         f"{int(number)}")
    raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")


def build_parser() -> argparse.ArgumentParser:
    """The ``jetstudy`` parser with every command (``config``, ``init``, ``fetch``, ``rerun``
    from :mod:`jetstudy.study.cli_tools`)."""
    parser = _Parser(
        prog="jetstudy", description="Hyperparameter and model-complexity studies of jet taggers "
        "on the hls4ml LHC jet dataset (Ray Tune + Optuna + ASHA).", epilog=_exit_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    from jetstudy.study.cli_tools import add_commands, version

    parser.add_argument("--version", action="version", version=f"jetstudy {version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    synth = sub.add_parser("synth", help="write synthetic jets as real-format (Format A) HDF5")
    synth.add_argument("out_dir", metavar="DIR", help="folder for the .h5 files")
    synth.add_argument("--jets", type=_whole, default=200_000,
                       help="number of jets (default 200000)")
    synth.add_argument("--seed", type=_whole, default=1, help="random seed (default 1)")
    synth.add_argument("--jets-per-file", type=_whole, default=10_000,
                       help="jets per file, like the original files (default 10000)")

    run = sub.add_parser(
        "run", help="run a study; prints the results folder and the report's path",
        description=textwrap.fill(
            "Run a study. Prints the results folder (storage.results_dir/storage.name), the "
            "trials' counts, the best model's test scores and, unless --no-report, the "
            "report's path: 'report: RESULTS/report/index.html'.", 78), epilog=_exit_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("config", nargs="?", metavar="CONFIG",
                     help="study config YAML (default: built-in defaults)")
    run.add_argument("--set", dest="overrides", action="append", default=[],
                     metavar="SECTION.FIELD=VALUE", help="override a config field (repeatable)")
    run.add_argument("--resume", action="store_true",
                     help="continue the study in storage.results_dir/storage.name")
    run.add_argument("--address", help="join a Ray cluster ('auto' or 'ray://host:10001'); "
                     "same as --set resources.address=...")
    run.add_argument("--no-report", action="store_true", help="skip the report at the end")
    run.add_argument("--no-figures", action="store_true",
                     help="write the report at the end without its figures (faster; "
                     "'jetstudy report RESULTS' draws them later)")
    run.add_argument("-v", "--verbose", action="store_true", help="show Ray's own logs")

    report = sub.add_parser("report", help="write the study report from result tables; "
                            "prints the path of its index.html and summary.md")
    report.add_argument("source", metavar="RESULTS",
                        help="a results folder, or a trials table (.parquet/.csv)")
    report.add_argument("-o", "--out", help="output folder (default: report/ in the results "
                        "folder, or beside a lone trials table); must be empty, new, or hold an "
                        "earlier report")
    report.add_argument("--force", action="store_true",
                        help="write into a folder holding other files too (never over them)")
    report.add_argument("--no-figures", action="store_true",
                        help="the words, tables and CSV files without the PNG figures (a "
                        "fraction of the time); the page says which command draws them")

    export = sub.add_parser("export", help="write a study's model as ONNX and TorchScript on "
                            "raw features (needs jetstudy[export])")
    export.add_argument("results", metavar="RESULTS", help="the study's results folder")
    export.add_argument("--trial", help="export this trial's best epoch (default: the "
                        "study's best model)")
    export.add_argument("-o", "--out", help="output folder (default: RESULTS/export/<trial "
                        "id>); must be new or empty, or hold an earlier export (with --force)")
    export.add_argument("--force", action="store_true",
                        help="replace an earlier export's files (never other files)")
    export.add_argument("--allow-unfinished", action="store_true",
                        help="export a --trial that is not fully trained (stopped early, "
                        "failed, still running) or whose training is undetermined (no row in "
                        "trials.parquet, an unreadable table or epoch log); refused without it")
    add_commands(sub)  # config, init, fetch (study.cli_tools)
    return parser

