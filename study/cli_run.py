"""``jetstudy run``: run a study, show its progress on one line, print its outcome (counts,
the best model's test scores, failed trials), its report's path, or on Ctrl-C the
``--resume`` command. :mod:`jetstudy.study.cli` dispatches to :func:`cmd_run`; ``rerun`` too."""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import TYPE_CHECKING

from jetstudy.study.cli_parser import EXIT_INTERRUPTED, EXIT_TRIALS_FAILED, EXIT_USER_ERROR
from jetstudy.trainables.errors import ConfigError, JetstudyError

if TYPE_CHECKING:
    from jetstudy.study.interrupts import StudyInterrupted

__all__ = ["cmd_run", "describe_kind", "describe_outcome", "resume_command", "ProgressLine"]


class ProgressLine:
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



def describe_outcome(outcome) -> str:
    """What ``run`` prints when the study ends: the results folder, the trials' counts, the
    best model's test scores and each kind of failure once."""
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



def _address_once(address: str, overrides: list[str]) -> list[str]:
    """``--address`` as ``--set resources.address=...``, given once: with a ``--set
    resources.address`` of another value too it is refused, naming both (two clusters, one
    study: as any option given twice with two values); the same value is said once, without
    the warning of a field set twice."""
    import yaml

    def value(text: str) -> object:
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError:
            return text.strip()

    key = "resources.address"
    mine = [o for o in overrides if o.partition("=")[0].strip() == key]
    other = [o.partition("=")[2] for o in mine if value(o.partition("=")[2]) != address]
    if other:
        raise ConfigError(
            f"--address {address!r} and --set {key}={other[-1].strip()!r} name two Ray "
            f"clusters, and only one can be used: give the address once (--address X is the "
            f"same as --set {key}=X)")
    return [o for o in overrides if o not in mine] + [f"{key}={address}"]


def cmd_run(args: argparse.Namespace) -> int:
    """``jetstudy run``: load and check the config, run the study, print its outcome and
    write its report; the exit status of :data:`~jetstudy.study.cli_parser.EXIT_CODES`."""
    from jetstudy.study.config import load_config

    overrides = list(args.overrides)
    if args.address is not None and not args.address.strip():  # '' ran on this machine
        raise ConfigError(f"--address is {args.address!r}, empty; give the Ray cluster's "
                          "address (--address auto, or ray://host:10001), or leave --address "
                          "out to run on this machine")
    if args.address:
        overrides = _address_once(args.address, overrides)
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
    line = ProgressLine()
    try:
        outcome = run_study(cfg, resume=args.resume, progress=line, verbose=args.verbose)
    except StudyInterrupted as stop:
        line.close()
        print(_interrupted(stop, args), file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        line.close()
    print(describe_outcome(outcome))
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
    if stop.lost_to is not None:  # no --resume while the other driver holds the study
        from jetstudy.study.lock import lost_words

        return (f"stopped: {lost_words(stop.folder, stop.lost_to)}:\n"
                f"  {resume_command(args, stop.name)}")
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

