"""What ended a study's trials, in the words of its own scheduler and config.

A caption that says trials "ran to the end (max_epochs or their patience)" in an ASHA study,
where no patience applies, is untrue for that study: every caption, title and sentence names only
what this study's scheduler has (ASHA: max_epochs, ASHA's max_t, and its rungs; patience:
max_epochs or the patience; fifo: max_epochs), and keeps the general words only where no
``config.yaml`` says which scheduler ran.
"""

from __future__ import annotations

from typing import Any

__all__ = ["scheduler_type", "ran_to_end", "complete_words", "stop_causes"]


def _section(config: dict[str, Any] | None, name: str) -> dict[str, Any]:
    section = (config or {}).get(name)
    return section if isinstance(section, dict) else {}


def scheduler_type(config: dict[str, Any] | None) -> str | None:
    """``asha``, ``fifo`` or ``patience`` (the config's default ``asha`` where the scheduler
    section leaves the type out); None without a config."""
    if not config:
        return None
    kind = _section(config, "scheduler").get("type", "asha")
    return kind if kind in ("asha", "fifo", "patience") else None


def _max_epochs(config: dict[str, Any] | None) -> str:
    n = _section(config, "scheduler").get("max_epochs")
    ok = isinstance(n, int) and not isinstance(n, bool)
    return f"max_epochs = {n}" if ok else "max_epochs"


def _patience(config: dict[str, Any] | None, one: bool) -> str:
    p = _section(config, "scheduler").get("patience", 5)
    metric = _section(config, "search").get("metric", "val_loss")
    own = "its" if one else "their"
    if isinstance(p, int) and not isinstance(p, bool):
        epochs = "epoch" if p == 1 else "epochs"
        return f"{own} patience, {p} {epochs} without a better {metric}"
    return f"{own} patience"


def complete_words(config: dict[str, Any] | None, one: bool = False) -> str:
    """How a complete trial ended, in parentheses' words: ``max_epochs = 30`` (fifo),
    ``max_epochs = 30, ASHA's max_t, past every rung`` (ASHA), ``max_epochs = 30 or their
    patience, 5 epochs without a better val_loss`` (patience); ``max_epochs or their
    patience`` without a config."""
    kind = scheduler_type(config)
    if kind is None:
        return f"max_epochs or {'its' if one else 'their'} patience"
    if kind == "patience":
        return f"{_max_epochs(config)} or {_patience(config, one)}"
    if kind == "asha":
        return f"{_max_epochs(config)}, ASHA's max_t, past every rung"
    return _max_epochs(config)


def ran_to_end(config: dict[str, Any] | None, one: bool = False) -> str:
    """``trial that ran to the end (...)`` / ``trials that ...`` with :func:`complete_words`."""
    return (f"{'trial' if one else 'trials'} that ran to the end "
            f"({complete_words(config, one)})")


def stop_causes(config: dict[str, Any] | None) -> str:
    """What can stop a trial early in this study: ``ASHA or the time budget`` (ASHA, or no
    config), else ``the time budget`` only (a fifo or patience study has no ASHA; a trial
    ended by its patience is complete, not stopped)."""
    return "ASHA or the time budget" if scheduler_type(config) in (None, "asha") else \
        "the time budget"
