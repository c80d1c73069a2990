"""What a clean-up may delete: only temporaries provably jetstudy's. A killed writer's
temporary carries a check in its name (``atomic.temporary_name``); a user's file named
exactly like the patterns clean-ups once matched by name alone stays, byte for byte."""

from __future__ import annotations

from pathlib import Path

from jetstudy.study.paths import clear_dead_temporaries
from jetstudy.trainables.atomic import temporary_name, temporary_of, write_atomic
from tests.faults.conftest import checksums, plant

#: A user's files named like each pattern a clean-up used (``.<name>.<8 chars>.tmp``, a
#: pid's digits, a 16-hex tag with a wrong check), for each of the study's own file names.
LOOK_ALIKES = [".config.yaml.original.tmp", ".trials.parquet.abcd1234.tmp",
               ".epochs.csv.00000000.tmp", ".trials.csv.12345.tmp",
               ".config.yaml.0123456789abcdef.tmp", "trials/t1/.state.pt.12345.tmp",
               "trials/t1/.best.pt.backup_1.tmp", "trials/t1/.config.json.0123456789abcdef.tmp",
               "data/..jetstudy-synthetic.json.mycopy01.tmp"]


def test_a_users_look_alike_temporaries_are_never_deleted(tmp_path: Path) -> None:
    folder = tmp_path / "study"
    (folder / "trials" / "t1").mkdir(parents=True)
    (folder / "data").mkdir()
    mine = plant(folder, LOOK_ALIKES)
    dead = [f"trials/t1/{temporary_name('state.pt')}", temporary_name("trials.parquet")]
    plant(folder, dead)
    removed = clear_dead_temporaries(folder)
    assert sorted(str(p.relative_to(folder)) for p in removed) == sorted(dead)
    assert checksums(folder) == {"trials": "dir", "trials/t1": "dir", "data": "dir", **mine}


def test_temporary_names_are_checked_and_written_by_the_atomic_writer(tmp_path: Path) -> None:
    name = temporary_name("trials.parquet")
    assert temporary_of(name) == "trials.parquet" and temporary_of(name[1:]) is None
    forged = name[:-12] + ("0" if name[-12] != "0" else "1") + name[-11:]  # one check digit
    assert temporary_of(forged) is None
    seen: list[str] = []
    write_atomic(tmp_path / "trials.parquet", lambda tmp: seen.append(Path(tmp).name))
    assert temporary_of(seen[0]) == "trials.parquet"


def test_a_users_best_backup_named_like_one_moved_aside_stays(tmp_path: Path) -> None:
    """``.best.old-<32 hex>`` holding best/'s files: a kill between _swap_in's renames leaves
    one, and recover_best restores or removes it. A user's backup under that exact pattern
    (no jetstudy check in its hex) was restored as best/ or deleted; now it stays."""
    from jetstudy.study.evaluate import recover_best
    from jetstudy.trainables.atomic import checked_tag

    backup = [f".best.old-{'0123456789abcdef' * 2}/{n}"
              for n in ("model.pt", "test_metrics.json", "test_predictions.parquet")]
    mine = plant(tmp_path, backup)
    recover_best(tmp_path / "best")  # best/ missing: the user's backup is not put there
    assert checksums(tmp_path) == {backup[0].split("/")[0]: "dir", **mine}
    (tmp_path / "best").mkdir()
    ours = tmp_path / f".best.old-{checked_tag('best.old', 32)}"
    ours.mkdir()
    (ours / "model.pt").write_bytes(b"an earlier best")
    assert recover_best(tmp_path / "best") == [ours]  # jetstudy's own goes, the backup stays
    assert all(checksums(tmp_path).get(n) == d for n, d in mine.items())
