"""Referee round 7: a stop that lands after the command's work is done.

``jetstudy export`` stopped with SIGTERM just after it printed 'exported ...' exited 143
(killed by the signal, during torch's and onnxruntime's teardown), and a Ctrl-C there printed
a KeyboardInterrupt traceback: the export was whole, but a script reading the status took it
for a failure. Now a stop during Python's teardown ends the process at once with the status
the command had (0 here); an ignored SIGHUP (``nohup``) stays ignored.

A slow teardown is made here by an ``atexit`` handler that sleeps (it stands in for torch's):
the signal is sent once the command's output is out, so it lands in the teardown whatever
the machine's speed. Each case runs ``jetstudy config --defaults`` in a process of its own.
"""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from tests.faults.conftest import REPO

_SLOW_EXIT = ("import atexit, sys, time\n"
              "atexit.register(time.sleep, 60)  # a slow teardown (torch, onnxruntime)\n"
              "sys.argv = ['jetstudy', 'config', '--defaults', '--plain']\n"
              "from jetstudy.study.cli import main\n"
              "code = main()\n"
              "print('DONE', flush=True)\n"
              "sys.exit(code)\n")


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT", "SIGHUP"])
def test_a_stop_during_teardown_keeps_the_command_status(sig: str) -> None:
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_EXIT], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # the command's whole output, then its teardown
            if line.strip() == "DONE":
                break
        proc.send_signal(getattr(signal, sig))
        out, err = proc.communicate(timeout=30)  # not the 60 s of the slow teardown
    finally:
        proc.kill()
    assert proc.returncode == 0, (proc.returncode, err[-2000:])
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-2000:]


def test_an_ignored_hangup_stays_ignored_in_teardown() -> None:
    """Under nohup, SIGHUP neither kills the process nor cuts its teardown short."""
    script = ("import signal\nsignal.signal(signal.SIGHUP, signal.SIG_IGN)\n"
              + _SLOW_EXIT.replace("atexit.register(time.sleep, 60)",
                                   "atexit.register(lambda: (time.sleep(0.5), "
                                   "print('TEARDOWN', flush=True)))"))
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip() == "DONE":
                break
        proc.send_signal(signal.SIGHUP)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0 and "Traceback" not in err, (proc.returncode, err[-2000:])
    assert "TEARDOWN" in out  # the teardown ran to its end
