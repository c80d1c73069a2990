"""The ``jetstudy`` command: parse, load, call the library, print where the output is.

    jetstudy synth DIR --jets 200000 --seed 1
    jetstudy run configs/dryrun.yaml [--set section.field=value ...] [--resume] [--address auto]
    jetstudy report RESULTS [-o OUT]
    jetstudy export RESULTS [--trial ID] [-o DIR] [--force] [--allow-unfinished]
    jetstudy config [CONFIG] [--defaults]   jetstudy init [DIR]   jetstudy fetch hls4ml [DIR]
    jetstudy --version

A problem with the user's input (a :class:`~jetstudy.trainables.errors.JetstudyError`, or a path the
file system refuses) is printed as one line, ``error: ...``, with exit status 2 and no
traceback. ``run`` exits 3 when the study finished but some trials failed, and 130 when
Ctrl-C (or SIGTERM) stopped it (after writing its tables and printing the ``--resume``
command). :data:`EXIT_CODES` lists them all for ``--help`` (and the README, by a test).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import shlex
import sys
import textwrap
from typing import TYPE_CHECKING, Iterator, NoReturn, Sequence

from jetstudy.study.os_errors import os_problem as _os_problem
from jetstudy.trainables.errors import ConfigError, JetstudyError

if TYPE_CHECKING:
    from jetstudy.study.interrupts import StudyInterrupted

__all__ = ["main", "EXIT_CODES"]

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


class _Parser(argparse.ArgumentParser):
    """argparse's complaints (an unknown option, ``--jets abc``) as the one ``error: ...`` line
    and exit status 2 of every other input problem; subcommands inherit it."""

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


def _parser() -> argparse.ArgumentParser:
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
                        "failed, still running); refused without it")
    add_commands(sub)  # config, init, fetch (study.cli_tools)
    return parser


class _ProgressLine:
    """Rewrites one terminal line in place (or prints lines when not a terminal)."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.width = 0
        self.last_counts = ""

    def __call__(self, line: str) -> None:
        if self.tty:
            self.stream.write("\r" + line.ljust(self.width))
            self.width = len(line)
        else:  # a log file: one line per finished trial, not per epoch
            counts = line.split("|")[0]
            if counts == self.last_counts:
                return
            self.last_counts = counts
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self.width:
            self.stream.write("\n")


#: The fewest jets ``jetstudy synth`` writes: with the default fractions (0.2), 4 validation
#: and 4 test jets of each of the 5 classes; fewer leave a split a class short.
MIN_SYNTH_JETS = 100


def _check_synth_args(args: argparse.Namespace) -> None:
    """The synth options in the command line's words (the library names its arguments), and
    never over a file of the user's."""
    from pathlib import Path

    from jetstudy.study.prepare import synthetic_names
    from jetstudy.trainables.synth import synthetic_mark

    from jetstudy.study.config import MAX_SEED, MAX_SYNTHETIC_JETS

    if args.jets < MIN_SYNTH_JETS:  # 0 and negatives keep the bounds message below
        if args.jets >= 1:
            raise ConfigError(
                f"--jets must be an integer >= {MIN_SYNTH_JETS} and <= {MAX_SYNTHETIC_JETS}, "
                f"got {args.jets}: a study splits each of the 5 classes into train, validation "
                f"and test, and {args.jets} jets leave those splits a handful of jets of a class "
                f"or none (no AUC); e.g. --jets 200000")
    for flag, value, low, high, example in (
            ("--jets", args.jets, 1, MAX_SYNTHETIC_JETS, 200_000),
            ("--seed", args.seed, 0, MAX_SEED, 1),
            ("--jets-per-file", args.jets_per_file, 1, None, 10_000)):
        if value < low or (high is not None and value > high):
            bounds = f">= {low}" + (f" and <= {high}" if high is not None else "")
            raise ConfigError(f"{flag} must be an integer {bounds}, got {value}; "
                              f"e.g. {flag} {example}")
    out = Path(args.out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"synth DIR {args.out_dir!r} is a file, not a folder; give a folder "
                          f"(it is created if missing)")
    if not out.exists() and out.suffix.lower() in (".h5", ".hdf5", ".csv", ".parquet"):
        raise ConfigError(  # a folder called data.h5 holding the files would be made
            f"synth DIR {args.out_dir!r} names a data file ({out.suffix}), but synth writes "
            f"its .h5 files into a folder; give the folder, e.g. jetstudy synth "
            f"{shlex.quote(str(out.parent / out.stem))} (then data.path: "
            f"{out.parent / out.stem})")

    def ours(path: Path) -> bool:
        try:
            return path.is_file() and not path.is_symlink() and bool(synthetic_mark(path))
        except JetstudyError:  # not HDF5 at all
            return False

    for name in synthetic_names(args.jets, args.seed, args.jets_per_file)[::2]:
        path = out / name
        if (path.exists() or path.is_symlink()) and not ours(path):
            raise ConfigError(f"synth: {path} exists and is not a jetstudy synthetic file; "
                              f"jetstudy never overwrites your files: give another DIR")


def _cmd_synth(args: argparse.Namespace) -> int:
    from jetstudy.trainables.synth import write_synthetic

    _check_synth_args(args)
    from jetstudy.study.paths import refuse_inside_study_part

    refuse_inside_study_part(args.out_dir, "synth DIR")  # e.g. <study>/best: lost with it
    paths = write_synthetic(args.out_dir, args.jets, args.seed, args.jets_per_file)
    files = f"{len(paths)} file{'s' * (len(paths) != 1)}"
    print(f"wrote {args.jets} synthetic jets in {files} to {args.out_dir}")
    return 0


def _describe(outcome) -> str:
    t = outcome.test_metrics
    lines = [f"results: {outcome.folder}",
             f"trials: {len(outcome.trials)} ({outcome.count('completed')} completed, "
             f"{outcome.count('stopped')} stopped early, {outcome.count('failed')} failed)"]
    if "stop_reason" in outcome.trials:
        cut = int((outcome.trials["stop_reason"] == "time_budget").sum())
        if cut:
            lines.append(f"search.time_budget_s ran out: {cut} trial(s) cut short while "
                         f"training (stop_reason time_budget in trials.csv)")
    if t:
        from jetstudy.analysis.intervals import format_measured

        def scores(m: dict) -> str:  # value ± standard error, digits to match (as the report)
            return (f"accuracy {format_measured(m['accuracy'], m.get('accuracy_se'))}, "
                    f"macro AUC {format_measured(m['auc_macro'], m.get('auc_macro_se'))}")

        lines.append(f"best trial {t['trial_id']} (epoch {t['epoch']}) on the test split: "
                     f"{scores(t['model'])}")
        if t.get("bayes"):
            lines.append(f"Bayes optimum on the same jets:  {scores(t['bayes'])}")
    failed = outcome.trials[outcome.trials["status"] == "failed"]
    # trials that failed alike are one line (a learning rate that diverges every trial)
    for error, group in list(failed.groupby("error", sort=False)["trial_id"])[:5]:
        ids = list(group)
        who = (f"trial {ids[0]}" if len(ids) == 1 else
               f"{len(ids)} trials ({', '.join(ids[:5])}{', ...' if len(ids) > 5 else ''})")
        lines.append(f"failed: {who}: {error}")
    return "\n".join(lines)


def describe_kind(cfg) -> str:
    """One line: which kind of study runs (a scan or a search) and what that means."""
    s, sch = cfg.search, cfg.scheduler
    ends = (f"each to max_epochs {sch.max_epochs}" if sch.type == "fifo" else
            f"each to max_epochs {sch.max_epochs} or its patience of {sch.patience} epochs"
            if sch.type == "patience" else "ASHA stops the weaker ones early"
            if sch.grace_period < sch.max_epochs else  # no rung before the last epoch
            f"ASHA with no rung before max_epochs {sch.max_epochs}: each to max_epochs")
    n = s.num_trials
    if cfg.kind == "scan":
        design = "a grid" if s.sampler == "grid" else "a Sobol design"
        return (f"kind: scan ({design} of {n} configuration{'s' * (n != 1)}, {ends}): "
                f"the regime picture")
    # never more at a time than there are trials, nor than resources.num_cpus holds (the
    # start warns, and the report's kind line says, what Ray's nodes held)
    from jetstudy.study.concurrency import local_shapes, trials_at_once

    sampler, answer = s.sampler, "the best model"
    if cfg.size_objective:  # two objectives: Optuna's answer is a front (ASHA ranks by one)
        sampler += f" over {s.metric} and {cfg.size_objective}"
        answer = f"the {s.metric} / {cfg.size_objective} trade-off (a Pareto front)"
    return (f"kind: search ({sampler}, {n} trial{'s' * (n != 1)}, "
            f"{trials_at_once(cfg, local_shapes(cfg))} at a time, {ends}): {answer}; "
            f"for the regime "
            f"picture run a scan (search.sampler grid or sobol)")


def _cmd_run(args: argparse.Namespace) -> int:
    from jetstudy.study.config import load_config

    overrides = list(args.overrides)
    if args.address is not None and not args.address.strip():  # '' ran on this machine
        raise ConfigError(f"--address is {args.address!r}, empty; give the Ray cluster's "
                          "address (--address auto, or ray://host:10001), or leave --address "
                          "out to run on this machine")
    if args.address:
        overrides.append(f"resources.address={args.address}")
    cfg = load_config(args.config, overrides)  # a bad config answers before torch and Ray load
    from jetstudy.study.config_rules import data_beside_config

    data_beside_config(cfg, args.config)  # a relative data.path read from the config's folder
    from jetstudy.study.interrupts import StudyInterrupted
    from jetstudy.study.launch import run_study
    from jetstudy.study.snapshots import check_tune_period_env

    check_tune_period_env()  # the user's TUNE_GLOBAL_CHECKPOINT_S, before any work
    print(describe_kind(cfg))
    if not args.verbose:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
    line = _ProgressLine()
    try:
        outcome = run_study(cfg, resume=args.resume, progress=line, verbose=args.verbose)
    except StudyInterrupted as stop:
        line.close()
        print(_interrupted(stop, args), file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        line.close()
    print(_describe(outcome))
    if not args.no_report:
        from jetstudy.analysis.report import write_report

        try:
            report = write_report(outcome.folder, figures=not args.no_figures)
        except KeyboardInterrupt:  # the study is whole: only its report is missing
            print(f"interrupted while writing the report; the study in {outcome.folder} is "
                  f"finished: write its report with:\n  jetstudy report {shlex.quote(str(outcome.folder))}",
                  file=sys.stderr)
            return EXIT_INTERRUPTED
        except JetstudyError as exc:  # e.g. a read-only report/: `run` has no -o, `report` has
            folder = shlex.quote(str(outcome.folder))
            print(f"error: {exc}\nthe study in {outcome.folder} is finished; only its report is "
                  f"missing: write it with\n  jetstudy report {folder}\nor elsewhere with\n"
                  f"  jetstudy report {folder} -o DIR", file=sys.stderr)
            return EXIT_USER_ERROR
        print(f"report: {report.index_html}")
    return EXIT_TRIALS_FAILED if outcome.count("failed") else 0


def resume_command(args: argparse.Namespace, name: str) -> str:
    """The command that continues the study ``name``: this run's config file and --set
    options (a resume must not change the study), the study's name, ``--resume``."""
    import shlex

    cmd = ["jetstudy", "run"] + ([args.config] if args.config else [])
    for item in args.overrides:
        if item.partition("=")[0].strip() != "storage.name":
            cmd += ["--set", item]
    if args.address:
        cmd += ["--address", args.address]
    return shlex.join(cmd + ["--set", f"storage.name={name}", "--resume"])


def _interrupted(stop: StudyInterrupted, args: argparse.Namespace) -> str:
    if not stop.started:
        return "interrupted before the study started; nothing to resume"
    if stop.counted:
        trials = (f"{stop.finished} trial(s) finished, {stop.cut_short} cut short and saved "
                  f"at their last checkpoint (status 'interrupted')"
                  if stop.finished or stop.cut_short else "no trial trained an epoch yet")
        done = f"{trials}; the tables in {stop.folder} are written"
    else:  # a second Ctrl-C, or one before the trials started
        done = (f"stopped at once; {stop.folder} keeps the trials' checkpoints (and the "
                f"live tables written so far)")
    return (f"interrupted: {done}.\n"
            f"continue the study with:\n  {resume_command(args, stop.name)}")


def _cmd_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from jetstudy.analysis.report import write_report
    from jetstudy.study.raysession import reap_dead_session

    if Path(args.source).is_dir():  # Ray left behind by the study's driver if it was killed
        reap_dead_session(Path(args.source))
    outcome = write_report(args.source, args.out, force=args.force,
                           figures=not args.no_figures)
    for part, reason in outcome.skipped:
        print(f"skipped {part}: {reason}")
    print(f"report: {outcome.index_html}")
    print(f"summary: {outcome.summary_md}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from jetstudy.study.export import export_model

    if not args.results.strip():  # '' would be read as the current folder ('.')
        raise ConfigError(f"export RESULTS is empty ({args.results!r}); give the study's results "
                          "folder, the one `jetstudy run` printed as 'results: ...'")
    trial = args.trial.strip() if args.trial and args.trial.strip() else args.trial
    outcome = export_model(args.results, trial, args.out, force=args.force,  # ' id ' is id
                           allow_unfinished=args.allow_unfinished)
    training = outcome.training or {}
    count = lambda k: training.get(k) if training.get(k) is not None else "?"  # noqa: E731
    unfinished = (f" NOT FULLY TRAINED (status {training.get('status') or 'unknown'}, "
                  f"{count('epochs')} of {count('max_epochs')} epochs)"
                  if training.get("fully_trained") is False else
                  f" (how far it trained is undetermined: {training.get('note')})"
                  if training.get("fully_trained") == "undetermined" else "")
    print(f"exported trial {outcome.trial_id} (epoch {outcome.epoch}){unfinished} to "
          f"{outcome.out}: {', '.join(outcome.files)}; checked against the study's model to "
          f"{outcome.max_difference:.1e}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None and hasattr(sys.stdout, "reconfigure"):  # a path of raw (non-UTF-8) bytes
        sys.stdout.reconfigure(errors="backslashreplace")  # printed, not a traceback after work
    args = _parser().parse_args(argv)
    verbose = getattr(args, "verbose", False)
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not verbose:  # Ray's own warnings are for operators; --verbose shows them
        logging.getLogger("ray").setLevel(logging.ERROR)
        # Tune's "Trial task failed" traceback per failed trial: `run` names each failed
        # trial's reason itself, once, at the end (and trials.csv has it)
        logging.getLogger("ray.tune").setLevel(logging.CRITICAL)
    from jetstudy.study.cli_tools import COMMANDS

    commands = {"synth": _cmd_synth, "run": _cmd_run, "report": _cmd_report,
                "export": _cmd_export, **COMMANDS}
    try:
        _refuse_variables(args)
        from jetstudy.study.arg_paths import read_path_args

        read_path_args(args, _PATH_ARGS)  # ~ is home; no newline or raw bytes in an output
        with _sigterm_as_interrupt() as stops:  # report, export, synth: clean-up, exit 130
            code = commands[args.command](args)
        if stops and code != EXIT_INTERRUPTED:  # the stop's KeyboardInterrupt was swallowed
            print(f"interrupted ({stops[0]}), but it landed where Python could not stop (a "
                  f"clean-up callback), so the command finished: its output is whole",
                  file=sys.stderr)
            code = EXIT_INTERRUPTED
    except JetstudyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = EXIT_USER_ERROR
    except OSError as exc:  # a path that cannot be created, read or written
        print(f"error: {_os_problem(exc)}", file=sys.stderr)
        code = EXIT_USER_ERROR
    except KeyboardInterrupt:  # outside a study (e.g. a report): nothing to resume
        print("interrupted", file=sys.stderr)
        code = EXIT_INTERRUPTED
    if argv is None:  # the program itself (not a caller's main([...])): leave safely
        _exit_past_a_stuck_probe(code)
        from jetstudy.trainables.atomic import exit_on_late_stops

        exit_on_late_stops(code)  # a stop during Python's teardown: this status, at once
    return code


#: Path arguments by their attribute, as the command line names them.
_PATH_ARGS = {"config": "CONFIG", "out_dir": "DIR", "dir": "DIR", "source": "RESULTS",
              "results": "RESULTS", "out": "-o", "data": "--data"}


def _refuse_variables(args: argparse.Namespace) -> None:
    """A path argument holding ``$NAME`` (quoted, so the shell left it): jetstudy does not
    expand variables, as in the config's paths; a folder called ``$OUT`` would be made."""
    from jetstudy.study.config_rules import _ENV_VAR

    for attr, flag in _PATH_ARGS.items():
        value = getattr(args, attr, None)
        found = _ENV_VAR.search(value) if isinstance(value, str) else None
        if found:
            raise ConfigError(f"{flag} {value!r} holds {found.group(0)}, but jetstudy does not "
                              f"expand environment variables; let the shell expand it (double "
                              f"quotes, \"{value}\", not single ones), or write the path out")


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[list[str]]:
    """SIGTERM (``kill PID``, a batch system's limit) and SIGHUP (the terminal closed; left
    ignored under ``nohup``) stop any command as Ctrl-C does: its
    staging folders and temporaries are removed on the way out, and it exits 130 (``run``
    hands SIGTERM to its own graceful stop while the study runs). Yields the names of the stops
    taken: Python swallows a KeyboardInterrupt raised inside a weakref callback or ``__del__``
    ('Exception ignored in ...'), and the command then ran on to its end (exit 0 after a
    SIGTERM); the caller says so and exits 130."""
    from jetstudy.trainables.atomic import stops_handled

    taken: list[str] = []

    def interrupt(signum: int, frame: object) -> None:
        taken.append(signal.Signals(signum).name)
        raise KeyboardInterrupt

    with stops_handled(interrupt):  # main thread only; nohup's ignored SIGHUP stays ignored
        yield taken


def _exit_past_a_stuck_probe(code: int) -> None:
    """A Ray connection probe the deadline abandoned is still inside Ray's C++ client: a
    normal interpreter exit would free Python under it (a segmentation fault instead of the
    error just printed), so leave at once, output flushed."""
    from jetstudy.study.connect import probe_left_running

    if probe_left_running():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
