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
from typing import Iterator, Sequence

from jetstudy.study.cli_parser import (EXIT_CODES, EXIT_INTERRUPTED, EXIT_TRIALS_FAILED,
                                       EXIT_USER_ERROR, build_parser)
from jetstudy.study.cli_run import cmd_run as _cmd_run
from jetstudy.study.cli_run import describe_kind, resume_command
from jetstudy.study.cli_run import describe_outcome as _describe
from jetstudy.study.os_errors import os_problem as _os_problem
from jetstudy.trainables.errors import ConfigError, JetstudyError

# the parser and its exit statuses live in study/cli_parser.py, the run command in
# study/cli_run.py; their names stay importable from here (rerun, tests, scripts)
__all__ = ["main", "EXIT_CODES", "EXIT_USER_ERROR", "EXIT_TRIALS_FAILED", "EXIT_INTERRUPTED",
           "describe_kind", "resume_command", "_cmd_run", "_describe"]


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
    files = -(-args.jets // args.jets_per_file)
    if files > MAX_SYNTH_FILES:  # --jets-per-file 1: 200,000 one-jet files in DIR
        raise ConfigError(
            f"--jets {args.jets} with --jets-per-file {args.jets_per_file} would write {files:,} "
            f"files into DIR, more than the {MAX_SYNTH_FILES:,} jetstudy writes (the real "
            f"dataset keeps 10,000 jets per file); set --jets-per-file to at least "
            f"{-(-args.jets // MAX_SYNTH_FILES)}, e.g. --jets-per-file 10000")
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
    args = build_parser().parse_args(argv)
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
#: The most files ``jetstudy synth`` writes into one folder (880k real jets are 88 files).
MAX_SYNTH_FILES = 10_000

_PATH_ARGS = {"config": "CONFIG", "out_dir": "DIR", "dir": "DIR", "source": "RESULTS",
              "results": "RESULTS", "out": "-o", "data": "--data"}


def _refuse_variables(args: argparse.Namespace) -> None:
    """A path argument holding ``$NAME`` (quoted, so the shell left it): jetstudy does not
    expand variables, as in the config's paths; a folder called ``$OUT`` would be made."""
    from jetstudy.study.config_rules import _ENV_VAR

    from jetstudy.trainables.datacheck import url_problem

    for attr, flag in _PATH_ARGS.items():
        value = getattr(args, attr, None)
        found = _ENV_VAR.search(value) if isinstance(value, str) else None
        if found:
            raise ConfigError(f"{flag} {value!r} holds {found.group(0)}, but jetstudy does not "
                              f"expand environment variables; let the shell expand it (double "
                              f"quotes, \"{value}\", not single ones), or write the path out")
        url = url_problem(value) if isinstance(value, str) and not os.path.lexists(
            value) else None
        if url is not None:  # synth s3://b/x wrote into a local folder 's3:', exit 0
            fix = "" if url.startswith("a URL (file://)") else (
                ": give a folder path instead" if attr in (
                    "out_dir", "dir", "out") else ": download or copy it here first, and "
                "give its local path")
            raise ConfigError(f"{flag} {value!r} is {url}{fix}")


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
