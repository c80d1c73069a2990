"""The ``jetstudy`` commands that help a user start: ``config`` (print a config, or the full
defaults), ``init`` (a commented starter config) and ``fetch`` (the real dataset); and the
version ``--version`` prints. :mod:`jetstudy.study.cli_parser` registers them."""

from __future__ import annotations

import argparse
from importlib import metadata
from typing import Callable

from jetstudy.study.rerun import add_command as rerun_command
from jetstudy.study.rerun import cmd_rerun

__all__ = ["version", "add_commands", "COMMANDS"]


def version() -> str:
    """jetstudy's installed version (``unknown`` when run from a checkout never installed)."""
    try:
        return metadata.version("jetstudy")
    except metadata.PackageNotFoundError:
        return "unknown"


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``config``, ``init`` and ``fetch`` to the ``jetstudy`` parser's subcommands."""
    config = sub.add_parser("config", help="print a config as jetstudy reads it, every field "
                            "explained (--defaults: the built-in defaults)")
    config.add_argument("config", nargs="?", metavar="CONFIG",
                        help="study config YAML (default: the defaults)")
    config.add_argument("--defaults", action="store_true",
                        help="print the full default config (not with CONFIG or --set)")
    config.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="SECTION.FIELD=VALUE", help="override a config field (repeatable)")
    config.add_argument("--plain", action="store_true", help="YAML without the comments")

    init = sub.add_parser("init", help="write a starter config, DIR/jetstudy.yaml, with a "
                          "comment on every field; then: jetstudy run DIR/jetstudy.yaml")
    init.add_argument("dir", nargs="?", default=".", metavar="DIR",
                      help="folder (default: here)")
    init.add_argument("--force", action="store_true", help="replace an existing jetstudy.yaml")
    init.add_argument("--example", choices=["dryrun", "lecture", "full"], default="dryrun",
                      help="the example config to start from (default dryrun: synthetic jets, "
                      "about a minute; lecture: a small scan for a lecture; full: a cluster "
                      "study on real data)")

    fetch = sub.add_parser("fetch", help="download the real dataset into a cache "
                           "(~/.cache/jetstudy/hls4ml, or $JETSTUDY_DATA/hls4ml); prints "
                           "the data.path to use")
    fetch.add_argument("dataset", choices=["hls4ml"], help="hls4ml: the hls4ml LHC jets")
    fetch.add_argument("dir", nargs="?", metavar="DIR", help="folder (default: the cache)")
    fetch.add_argument("--hdf5", action="store_true",
                       help="the original HDF5 files (large) instead of the OpenML table")
    rerun_command(sub)  # rerun (study.rerun)


def _cmd_config(args: argparse.Namespace) -> int:
    from jetstudy.study.config import load_config
    from jetstudy.study.starter import commented_yaml
    from jetstudy.trainables.errors import ConfigError

    if args.defaults and (args.config is not None or args.overrides):
        given = " and ".join(([f"CONFIG {args.config!r}"] if args.config is not None else [])
                             + (["--set " + " --set ".join(args.overrides)] if args.overrides
                                else []))
        raise ConfigError(f"jetstudy config --defaults prints the built-in defaults, so {given} "
                          f"would be ignored; drop --defaults to see that config as jetstudy "
                          f"reads it, or drop {given} to see the defaults")
    cfg = load_config(None) if args.defaults else load_config(args.config, args.overrides)
    print(cfg.to_yaml() if args.plain else commented_yaml(cfg), end="")
    return 0


def _cmd_init(args: argparse.Namespace) -> int:
    from jetstudy.study.starter import run_options, write_starter

    path = write_starter(args.dir, force=args.force, example=args.example)
    print(f"wrote {path}\nrun it with: jetstudy run {path}{run_options(args.example)}")
    return 0


class _Bar:
    """A progress bar on stderr for ``fetch`` (one line per file when not a terminal)."""

    def __init__(self) -> None:
        import sys

        self.stream = sys.stderr
        self.tty = self.stream.isatty()
        self.last: tuple[str, int] = ("", -1)

    def __call__(self, name: str, done: int, total: int | None) -> None:
        mib = done / 2**20
        if total:
            share = done / total
            text = f"{name} [{'#' * int(30 * share):<30}] {share:6.1%} {mib:8.1f} MiB"
        else:
            text = f"{name} {mib:8.1f} MiB"
        step = int(100 * done / total) if total else int(mib)
        if self.tty:
            self.stream.write("\r" + text)
        elif (name, step // 10) != self.last:  # a log: every 10%
            self.stream.write(text + "\n")
        self.last = (name, step // 10)
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self.last[0]:
            self.stream.write("\n")


def _cmd_fetch(args: argparse.Namespace) -> int:
    import shlex

    from jetstudy.study.fetch import data_path, fetch_dataset

    bar = _Bar()
    try:
        path = fetch_dataset(args.dataset, args.dir, hdf5=args.hdf5, progress=bar)
    finally:
        bar.close()
    # unpacked HDF5 files sit in subfolders: a glob, quoted so the shell passes it on as it is
    print(f"{args.dataset}: {path}\nuse it with: --set data.path={shlex.quote(data_path(path))}")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "config": _cmd_config, "init": _cmd_init, "fetch": _cmd_fetch, "rerun": cmd_rerun}
