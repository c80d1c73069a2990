"""SIGHUP (the terminal closed) is a stop like Ctrl-C and SIGTERM: held while a temporary is
made, turned into the study's graceful stop, and for any command its clean-up runs and it
exits 130. Under ``nohup`` (SIGHUP ignored) it stays ignored."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jetstudy.study.interrupts import sigterm_as_ctrl_c
from jetstudy.trainables.atomic import held_signals
from tests.faults.conftest import REPO, checksums, plant


@pytest.fixture
def sighup_noted():
    """SIGHUP's handler for the test: notes each one (SIG_DFL would end pytest)."""
    seen: list[int] = []
    before = signal.signal(signal.SIGHUP, lambda signum, frame: seen.append(signum))
    yield seen
    signal.signal(signal.SIGHUP, before)


def test_sighup_is_held_while_a_temporary_is_made(sighup_noted: list[int]) -> None:
    with held_signals():
        os.kill(os.getpid(), signal.SIGHUP)
        time.sleep(0.05)
        assert sighup_noted == []  # held: not delivered inside the block
    assert sighup_noted == [signal.SIGHUP]  # delivered once the block ends


def test_sighup_stops_a_study_as_ctrl_c(sighup_noted: list[int]) -> None:
    with pytest.raises(KeyboardInterrupt):  # no Tune running: SIGINT's default handler
        with sigterm_as_ctrl_c():
            os.kill(os.getpid(), signal.SIGHUP)
            time.sleep(1)
    assert sighup_noted == []  # the study's stop ran, not the handler of before
    assert signal.getsignal(signal.SIGHUP) is not signal.SIG_DFL  # put back


def test_an_ignored_sighup_stays_ignored() -> None:
    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with sigterm_as_ctrl_c(), held_signals():
            assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGHUP)  # nohup: nothing happens
            time.sleep(0.05)
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, before)


def _synth(out: Path, ignore_hup: bool) -> subprocess.Popen:
    def prepare() -> None:
        if ignore_hup:
            signal.signal(signal.SIGHUP, signal.SIG_IGN)

    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "jetstudy.study.cli", "synth", "--jets",
                             "3000000", str(out)], cwd=out.parent, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=prepare)


def _staging_appears(out: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if any(n.startswith(".jetstudy-synth-") for n in os.listdir(out)):
            return
        time.sleep(0.02)
    proc.kill()
    pytest.fail(f"no staging folder in {out}: {proc.communicate()}")


@pytest.mark.parametrize("ignore_hup", [False, True], ids=["terminal", "nohup"])
def test_synth_on_sighup(tmp_path: Path, ignore_hup: bool) -> None:
    """Closing the terminal used to end ``synth`` at once (SIGHUP's default), its staging
    folder of half-made files left in the user's folder. Now: the clean-up runs, exit 130.
    Under nohup the same SIGHUP is ignored (a SIGTERM then ends it, as ever)."""
    out = tmp_path / "jets"
    before = plant(out, ["notes.txt"])
    proc = _synth(out, ignore_hup)
    try:
        _staging_appears(out, proc)
        proc.send_signal(signal.SIGHUP)
        if ignore_hup:
            time.sleep(0.5)
            assert proc.poll() is None, proc.communicate()  # still working
            proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted" in err and "Traceback" not in err, err[-2000:]
    assert checksums(out) == before  # no staging folder, no part of the set
