"""``run --address``: a Ctrl-C / SIGTERM that lands while ``ray.init`` joins the cluster waits
for it (Ray's own SIGTERM handler, installed inside ``ray.init``, swallowed one and the study
ran on), a second one still ends a long wait, and a stop delivered right after ``ray.init``
shuts down the Ray connection this driver made (it was left to Ray's atexit). The cluster
itself is out of reach here: ``ray.init`` is a stand-in that sends the signals; what is
checked is jetstudy's handling around it."""

from __future__ import annotations

import os
import signal
import time

import pytest
import ray

import jetstudy.study.connect as connect_module
from jetstudy.study.config import from_dict
from jetstudy.study.interrupts import sigterm_as_ctrl_c
from jetstudy.study.launch_ray import init_ray as _init_ray


@pytest.fixture
def joined(monkeypatch: pytest.MonkeyPatch) -> dict:
    """``ray.init`` replaced by a join that takes 0.3 s and sends ``state['signals']`` to this
    process first; ``state`` records whether the join finished and whether Ray was shut down."""
    state = {"signals": [signal.SIGTERM], "finished": False, "up": False, "shutdown": False}

    def init(**kwargs: object) -> None:
        for sig in state["signals"]:
            os.kill(os.getpid(), sig)
            time.sleep(0.05)
        time.sleep(0.3)
        state["finished"] = state["up"] = True

    def shutdown() -> None:
        state["shutdown"], state["up"] = True, False

    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setattr(ray, "shutdown", shutdown)
    monkeypatch.setattr(ray, "is_initialized", lambda: state["up"])
    monkeypatch.setattr(connect_module, "_probe", lambda addr, timeout: None)
    return state


def _config():
    return from_dict({"resources": {"address": "10.0.0.5:6379"}})


def test_a_stop_during_the_join_waits_for_it_then_shuts_it_down(joined: dict) -> None:
    with pytest.raises(KeyboardInterrupt):
        with sigterm_as_ctrl_c():
            _init_ray(_config(), verbose=False)
    assert joined["finished"], "the SIGTERM cut ray.init short"
    assert joined["shutdown"], "the connection made was left to Ray's atexit"


def test_a_second_stop_ends_a_long_join(joined: dict) -> None:
    joined["signals"] = [signal.SIGTERM, signal.SIGTERM]
    with pytest.raises(KeyboardInterrupt):
        with sigterm_as_ctrl_c():
            _init_ray(_config(), verbose=False)
    assert not joined["finished"]  # the user insisted: the wait ended there
