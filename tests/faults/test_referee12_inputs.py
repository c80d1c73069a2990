"""Round 12 referee of bad input: a table row one value short is named as such (its line, its
count and the header's), not as a non-number in the next column or an empty class; a ``--set``
value YAML could not read says so for every field, also when the refusal quotes it cut short;
the hints of a refused config value never suggest a value the same field refuses too (a range
of one ``[0, 0]`` for a learning rate, ``e.g. 0`` for a count >= 1) nor call a list a number."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jetstudy.study.config import SECTIONS, ConfigError
from jetstudy.study.config_file import load_config
from jetstudy.trainables.errors import DataError
from jetstudy.trainables.formats import load_jets
from jetstudy.trainables.schema import OPENML_FEATURES

N = 50


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.uniform(0.1, 1.0, (N, 16)).round(4), columns=list(OPENML_FEATURES))
    frame["class"] = np.array(list("gqwzt"))[np.arange(N) % 5]
    return frame


def _rows(frame: pd.DataFrame) -> list[str]:
    return [",".join(map(str, row)) for row in frame.itertuples(index=False)]


def _write(path: Path, frame: pd.DataFrame, cut: int | None = None, drop: int = 3,
           newline: bool = True) -> Path:
    """``frame`` as CSV or ARFF, row ``cut`` (0-based) without its value at ``drop``."""
    rows = _rows(frame)
    if cut is not None:
        values = rows[cut].split(",")
        del values[drop]
        rows[cut] = ",".join(values)
    if path.suffix == ".arff":
        head = (["@relation jets"] + [f"@attribute {c} numeric" for c in frame.columns[:-1]]
                + ["@attribute class {g,q,w,z,t}", "@data"])
    else:
        head = [",".join(frame.columns)]
    path.write_text("\n".join(head + rows) + ("\n" if newline else ""), encoding="utf-8")
    return path


@pytest.mark.parametrize("suffix, first_line, header", [
    (".arff", 20, "the @attribute header declares 17"),
    (".csv", 2, "the header names 17"),
])
@pytest.mark.parametrize("cut, drop", [(7, 3), (7, -1), (N - 1, -2), (0, 0)],
                         ids=["a-feature", "the-class", "last-row", "first-value"])
def test_a_row_one_value_short_is_named_as_such(suffix: str, first_line: int, header: str,
                                                cut: int, drop: int, tmp_path: Path) -> None:
    """Round 11 left: an ARFF (or CSV) row one value short was refused as 'column multiplicity
    holds 1 non-numbers (... 'w')' (the class letter moved one column left) or 'column class
    has 1 empty rows': right row, odd words. Now: the line, its count, the header's."""
    path = _write(tmp_path / f"jets{suffix}", _frame(), cut=cut, drop=drop)
    with pytest.raises(DataError) as refused:
        load_jets(path)
    text = str(refused.value)
    assert text.startswith(f"{path}: line {first_line + cut} (row {cut}, 0-based) has 16 "
                           f"values where {header}: a value is missing"), text
    assert "fix or drop that line" in text, text
    assert "non-numbers" not in text and "empty rows" not in text, text


@pytest.mark.parametrize("suffix", [".arff", ".csv"])
def test_a_last_row_cut_without_its_newline_says_the_file_is_incomplete(
        suffix: str, tmp_path: Path) -> None:
    path = _write(tmp_path / f"jets{suffix}", _frame(), cut=N - 1, drop=-1, newline=False)
    with pytest.raises(DataError) as refused:
        load_jets(path)
    text = str(refused.value)
    assert f"row {N - 1}, 0-based" in text and "incomplete" in text, text
    assert "empty rows" not in text, text


def test_rows_that_leave_off_an_unused_last_column_read_exactly(tmp_path: Path) -> None:
    """A row may stop after the last column jetstudy reads (a `notes` column left empty
    without its comma): that is no value missing from the jets, so the table reads as is."""
    frame = _frame()
    plain = load_jets(_write(tmp_path / "plain.csv", frame))
    noted = frame.assign(notes="")
    lines = [",".join(noted.columns)] + [row if i % 2 else row + "," for i, row in
                                         enumerate(_rows(frame))]
    path = tmp_path / "notes.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    read = load_jets(path)
    np.testing.assert_array_equal(read.x, plain.x)
    np.testing.assert_array_equal(read.y, plain.y)


def test_a_value_in_quotes_with_commas_is_no_short_row(tmp_path: Path) -> None:
    """The count follows the CSV's quoting: a quoted class "g" is one value."""
    frame = _frame()
    lines = [",".join(frame.columns)] + [
        ",".join(map(str, row[:-1])) + f',"{row[-1]}"' for row in frame.itertuples(index=False)]
    lines[5] = lines[5].rsplit(",", 1)[0] + ',""'  # an empty class: the class's own error
    path = tmp_path / "quoted.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="column class has 1 empty rows"):
        load_jets(path)


_LONG = "[1," + "2," * 60  # an open bracket YAML cannot read, quoted cut short in refusals
_TEXT_FIELDS = {"data.path", "resources.address", "storage.results_dir", "storage.name"}
_FIELDS = [f"{section}.{field.name}" for section, cls in SECTIONS.items()
           for field in dataclasses.fields(cls)
           if f"{section}.{field.name}" not in _TEXT_FIELDS]


@pytest.mark.parametrize("field", _FIELDS)
def test_a_set_value_yaml_could_not_read_says_so_for_every_field(field: str) -> None:
    """Round 11 left: the YAML reason was added only where the refusal quoted the value
    whole; a long value is quoted cut short ('... (125 characters)'), so 46 fields refused it
    as plain text. The field's name now ties the refusal to its --set value."""
    with pytest.raises(ConfigError) as refused:
        load_config(None, [f"{field}={_LONG}"])
    text = str(refused.value)
    assert f"(--set {field}: YAML could not read '[1,2,2," in text, text
    assert "fix the brackets or quotes, or quote the whole value" in text, text


def _refusal(tmp_path: Path, section: str, field: str, value: str) -> str:
    path = tmp_path / "c.yaml"
    path.write_text(f"{section}:\n  {field}: {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    return str(refused.value)


@pytest.mark.parametrize("field, value, words", [
    ("lr", "0", "outside the field's bounds even as a range of one"),
    ("lr", "-0.0", "outside the field's bounds even as a range of one"),
    ("depth", "1000", "outside the field's bounds even as a range of one"),
    ("width", "2.5", "outside the field's bounds even as a range of one"),
    ("dropout", ".nan", "NaN, not a number"),
    ("lr", ".inf", "infinite"),
    ("l1", "1e400", "infinite"),
])
def test_one_value_for_a_range_is_not_told_a_range_of_one_that_is_refused_too(
        field: str, value: str, words: str, tmp_path: Path) -> None:
    """`space.lr: 0` was told '(one fixed value is a range of one: [0, 0])', `.nan` '[nan,
    nan]': both refused as well. Only a range of one the field takes is suggested."""
    text = _refusal(tmp_path, "space", field, value)
    assert "range of one: [" not in text, text
    assert words in text and "write [low, high] of finite numbers within the bounds" in text, \
        text


def test_one_value_for_a_range_that_fits_is_still_told_its_range_of_one(tmp_path: Path) -> None:
    assert "(one fixed value is a range of one: [0.001, 0.001])" in _refusal(
        tmp_path, "space", "lr", "0.001")


@pytest.mark.parametrize("section, field, value", [
    ("search", "num_trials", "-0.0"), ("scheduler", "max_epochs", "-0.0"),
    ("training", "batch_size", "-0.0"), ("data", "synthetic_jets", "-0.0"),
    ("data", "synthetic_jets", "1e9"), ("search", "grid_levels", "1e3")])
def test_a_whole_float_is_not_told_a_whole_number_the_field_refuses(
        section: str, field: str, value: str, tmp_path: Path) -> None:
    """`num_trials: -0.0` was told 'write whole numbers plainly, e.g. 0', and 0 is refused;
    `grid_levels: 1e3` 'e.g. 1000' (at most 10). The field's own rule answers there."""
    text = _refusal(tmp_path, section, field, value)
    assert "write whole numbers plainly" not in text, text


def test_a_whole_float_the_field_takes_is_still_told_how_to_write_it(tmp_path: Path) -> None:
    assert "write whole numbers plainly, e.g. 1000," in _refusal(
        tmp_path, "search", "num_trials", "1e3")
    assert "e.g. 0," in _refusal(tmp_path, "search", "seed", "-0.0")


@pytest.mark.parametrize("section, field", [
    ("resources", "address"), ("storage", "results_dir"), ("storage", "name")])
def test_a_list_for_one_text_value_is_not_called_a_number(section: str, field: str,
                                                          tmp_path: Path) -> None:
    """`resources.address: [1, 2]` was '(read as the number 1: quote it to keep it as
    written)': a list, not a number."""
    text = _refusal(tmp_path, section, field, "[1, 2]")
    assert "read as the number" not in text, text
    assert "a list of 2 values: this field takes one" in text, text


def _csv_text() -> str:
    return _frame().to_csv(index=False)


def test_a_csv_joined_with_its_header_row_names_the_repeated_header(tmp_path: Path) -> None:
    """`cat a.csv b.csv`: the header again as row 25 was 'column zlogz holds 1 non-numbers
    (first: row 25, 0-based: 'zlogz') ... fix or drop those rows'."""
    lines = _csv_text().splitlines()
    path = tmp_path / "joined.csv"
    path.write_text("\n".join(lines[:26] + lines[:1] + lines[26:] + lines[:1] + lines[40:])
                    + "\n", encoding="utf-8")
    with pytest.raises(DataError) as refused:
        load_jets(path)
    text = str(refused.value)
    assert text.startswith(f"{path}: row 25 (0-based) (and 1 more row) repeats the header "
                           "(zlogz holds 'zlogz'): tables joined with their header rows"), text
    assert "tail -n +2" in text, text


def test_two_arff_files_joined_name_the_second_header(tmp_path: Path) -> None:
    """`cat a.arff b.arff`: the second @relation line among the @data rows was 'column zlogz
    holds 19 non-numbers (first: row 50, 0-based: '@relation jets')'."""
    one = _write(tmp_path / "one.arff", _frame()).read_text(encoding="utf-8")
    path = tmp_path / "joined.arff"
    path.write_text(one + one, encoding="utf-8")
    with pytest.raises(DataError) as refused:
        load_jets(path)
    text = str(refused.value)
    assert text.startswith(f"{path}: line {20 + N} ('@relation jets') is an ARFF header line "
                           "among the @data rows: two ARFF files joined"), text


@pytest.mark.parametrize("sep", [",", ";"])
def test_excels_separator_line_is_named(sep: str, tmp_path: Path) -> None:
    """Excel's 'sep=,' first line was read as a header of 2 names: 'every row has 15 values
    more than the header's 2 names ... a decimal comma (0,5) in a column?'."""
    path = tmp_path / "excel.csv"
    path.write_text(f"sep={sep}\n" + _csv_text().replace(",", sep), encoding="utf-8")
    with pytest.raises(DataError) as refused:
        load_jets(path)
    text = str(refused.value)
    assert text.startswith(f"{path}: the first line, 'sep={sep}', is Excel's separator line, "
                           "not the header row"), text
    assert "sed -i 1d" in text and "decimal comma" not in text, text
    assert ("re-export it with ',' as separator" in text) == (sep == ";"), text


@pytest.mark.parametrize("variant", ["bom", "crlf", "quoted-header", "blank-lines"])
def test_csv_spellings_of_the_same_table_read_exactly(variant: str, tmp_path: Path) -> None:
    """Held: a UTF-8 byte-order mark (Excel's 'CSV UTF-8'), Windows line ends, a quoted header
    and blank lines read the same jets as the plain file."""
    text = _csv_text()
    plain = load_jets(_write(tmp_path / "plain.csv", _frame()))
    path = tmp_path / f"{variant}.csv"
    if variant == "bom":
        path.write_text(text, encoding="utf-8-sig")
    elif variant == "crlf":
        path.write_bytes(text.replace("\n", "\r\n").encode())
    elif variant == "quoted-header":
        head, rest = text.split("\n", 1)
        path.write_text(",".join(f'"{c}"' for c in head.split(",")) + "\n" + rest,
                        encoding="utf-8")
    else:
        path.write_text(text.replace("\n", "\n\n"), encoding="utf-8")
    read = load_jets(path)
    np.testing.assert_array_equal(read.x, plain.x)
    np.testing.assert_array_equal(read.y, plain.y)


def _format_a(path: Path, names: list[str]) -> Path:
    import h5py

    from jetstudy.trainables.schema import JET_FEATURE_NAMES, LABEL_COLUMNS

    rng = np.random.default_rng(5)
    data = rng.uniform(0.1, 1.0, (N, len(JET_FEATURE_NAMES)))
    data[:, [JET_FEATURE_NAMES.index(c) for c in LABEL_COLUMNS]] = np.eye(5)[np.arange(N) % 5]
    with h5py.File(path, "w") as handle:
        handle["jets"] = data
        handle["jetFeatureNames"] = np.array([n.encode() for n in names])
    return path


def test_a_misspelt_feature_name_is_named_beside_the_missing_one(tmp_path: Path) -> None:
    """'the table lacks zlogz, mass_mmdt' with 'zlog' and 'massmmdt' standing in the header;
    'jetFeatureNames lacks j_zlogz' beside 'j_zlog'. The columns of that spelling are named."""
    from jetstudy.trainables.schema import JET_FEATURE_NAMES

    table = _write(tmp_path / "jets.csv", _frame().rename(columns={"zlogz": "zlog",
                                                                    "mass_mmdt": "massmmdt"}))
    with pytest.raises(DataError) as refused:
        load_jets(table)
    assert "lacks zlogz, mass_mmdt (found 'zlog' for zlogz, 'massmmdt' for mass_mmdt: " \
           "misspelt or cut short?" in str(refused.value), str(refused.value)
    names = [("j_zlog" if n == "j_zlogz" else n) for n in JET_FEATURE_NAMES]
    with pytest.raises(DataError) as refused:
        load_jets(_format_a(tmp_path / "jets.h5", names))
    assert "lacks j_zlogz (found 'j_zlog' for j_zlogz: misspelt" in str(refused.value)


def test_format_a_names_without_their_prefix_are_named(tmp_path: Path) -> None:
    """An HDF5 file whose jetFeatureNames drop the j_ prefix (zlogz, ..., as OpenML names
    them) listed all 16 as lacking, with no word of the names it holds."""
    from jetstudy.trainables.schema import HLF_FEATURES, JET_FEATURE_NAMES

    names = [n[2:] if n in HLF_FEATURES else n for n in JET_FEATURE_NAMES]
    with pytest.raises(DataError) as refused:
        load_jets(_format_a(tmp_path / "jets.h5", names))
    text = str(refused.value)
    assert "(found 'zlogz', 'c1_b0_mmdt', 'c1_b1_mmdt', ... without the j_ prefix: Format A's " \
           "jetFeatureNames carry it; rename them to j_zlogz, j_c1_b0_mmdt, j_c1_b1_mmdt, ...)" \
           in text, text


def test_another_real_column_is_never_offered_for_a_missing_one(tmp_path: Path) -> None:
    """Format A's other columns are real names: j_tau1_b1_mmdt is no spelling of a missing
    j_c1_b1_mmdt (nor j_d2_a1_b1 of d2_a1_b1_mmdt), in HDF5 and in a table of its columns."""
    from jetstudy.trainables.schema import JET_FEATURE_NAMES

    names = [("j_other" if n == "j_c1_b1_mmdt" else n) for n in JET_FEATURE_NAMES]
    with pytest.raises(DataError) as refused:
        load_jets(_format_a(tmp_path / "jets.h5", names))
    assert "lacks j_c1_b1_mmdt;" in str(refused.value), str(refused.value)
    frame = _frame().rename(columns={"d2_a1_b1_mmdt": "d2_a1_b1", "c1_b1_mmdt": "tau1_b1_mmdt"})
    with pytest.raises(DataError) as refused:
        load_jets(_write(tmp_path / "jets.csv", frame))
    assert "lacks c1_b1_mmdt, d2_a1_b1_mmdt;" in str(refused.value), str(refused.value)


@pytest.mark.parametrize("text, words", [
    ("1: 2\nfoo: 3\n", "'1' is not a config section (YAML read the key as the int 1: write the "
                       "section's name)"),
    ("yes: 2\n", "'true' is not a config section (YAML reads a key yes/no/on/off as "
                 "true/false: write the section's name)"),
    ("null: 2\n", "'null' is not a config section (a key '~', 'null' or nothing before ':'"),
    ("2024-01-01: 2\n", "(YAML read the key as the date 2024-01-01: write the section's name)"),
    ("data:\n  yes: 2\n", "data.true is not a field of 'data' (YAML reads a key yes/no/on/off"),
    ("data:\n  ~: 2\n", "data.null is not a field of 'data'"),
    ("data:\n  2024-01-01: 2\n", "(YAML read the key as the date 2024-01-01: write the field's"),
    ("search:\n  initial_points:\n  - {2024-01-01: 2}\n",
     "entry [0] has the unknown key 2024-01-01; YAML read the key as the date 2024-01-01"),
    ("search:\n  initial_points:\n  - {depth: .nan}\n", "entry [0]: depth is .nan; each value"),
])
def test_keys_yaml_read_as_other_things_are_shown_as_written(
        text: str, words: str, tmp_path: Path) -> None:
    """Top-level keys of two types (1: and foo:) ended in a raw TypeError traceback (sorting an
    int beside a str); keys YAML read as true, null or a date were shown in Python's words
    ('True', 'None', datetime.date(2024, 1, 1)), and a top-level one got no hint at all."""
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    message = str(refused.value)
    assert words in message, message
    assert "None" not in message and "True" not in message and "datetime" not in message


@pytest.mark.parametrize("section, field, value, words", [
    ("space", "lr", "[1e-2, 1e-4]", "(low above high: write [0.0001, 0.01], lowest first)"),
    ("space", "depth", "[6, 2]", "(low above high: write [2, 6], lowest first)"),
    ("search", "seed", "2026-11-29", "(YAML reads 2026-11-29 as a date: write a number)"),
    ("data", "val_fraction", "1/5", "('1/5' is text in YAML, not a division: write 0.2)"),
])
def test_common_slips_in_numbers_are_named(section: str, field: str, value: str, words: str,
                                           tmp_path: Path) -> None:
    """A reversed range, a date and a fraction written as 1/5 were refused with the field's
    rule alone ('got [0.01, 0.0001]'): which part is wrong is now said."""
    assert words in _refusal(tmp_path, section, field, value)


def test_a_fraction_out_of_bounds_is_not_offered_as_the_fix(tmp_path: Path) -> None:
    assert "not a division" not in _refusal(tmp_path, "data", "val_fraction", "5/1")


@pytest.mark.parametrize("text, words", [
    ("search:\n\u00a0 num_trials: 5\n", "line 2 ('num_trials: 5') holds a no-break space "
                                        "(U+00A0,"),
    ("search:\n  num_trials\uff1a 5\n", "line 2 ('num_trials\uff1a 5') holds a full-width "
                                        "colon (U+FF1A,"),
])
def test_a_pasted_space_or_colon_in_the_config_is_named(text: str, words: str,
                                                       tmp_path: Path) -> None:
    """A no-break space in the indentation (a config pasted from a web page) was "'\u00a0
    num_trials' is not a config section (it is a field of 'search')"; a full-width colon
    'search must be a mapping of fields, got 'num_trials：5''."""
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    assert words in str(refused.value) and "type a plain" in str(refused.value), \
        str(refused.value)


def test_a_utf16_config_is_named_as_such(tmp_path: Path) -> None:
    """Windows' 'Unicode' text was 'not UTF-8 text (byte 0xff at line 1)'."""
    path = tmp_path / "c.yaml"
    path.write_text("search:\n  num_trials: 5\n", encoding="utf-16")
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    assert "UTF-16 text (its first bytes are a byte-order mark)" in str(refused.value)
    assert "iconv -f UTF-16" in str(refused.value)


@pytest.mark.parametrize("override, words", [
    ("storage.name=\u2018x\u2019", "storage.name is '\u2018x\u2019', wrapped in typographic "
                                   "quotes"),
    ("storage.results_dir=\u201cres\u201d", "write it with straight quotes or none: "
                                            "results_dir: res"),
    ("data.path=\u00aba.h5\u00bb", "path: a.h5"),
    ("search.sampler=\u2018tpe\u2019", "('\u2018tpe\u2019' is wrapped in typographic quotes"),
    ("space.activations=[\u201crelu\u201d]", "got [\u201crelu\u201d] ('\u201crelu\u201d' is "
                                             "wrapped in typographic quotes"),
])
def test_typographic_quotes_are_named(override: str, words: str) -> None:
    """storage.name: ‘x’ (quotes from a word processor) made a study folder named with the
    quotes, exit 0; a choice in them was refused without the reason, and its list shown as
    ["\\u201Crelu\\u201D"]."""
    with pytest.raises(ConfigError) as refused:
        load_config(None, [override])
    assert words in str(refused.value), str(refused.value)


def test_invisible_characters_stay_escaped_in_a_refusal() -> None:
    """Letters are shown as written, but a bidi override stays escaped: printed raw, it would
    reorder the terminal's line."""
    with pytest.raises(ConfigError) as refused:
        load_config(None, ["space.activations=[\"a\\u202eb\"]"])
    assert "\u202e" not in str(refused.value) and "\\u202E" in str(refused.value)


def test_max_jets_over_files_sorted_by_class_says_the_classes_are_uneven(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Files that each hold one class (g.h5, q.h5, ...) read up to data.max_jets in sorted
    order gave g 100, q 100, W 100, Z 20, t 100 without a word: no sample of the data."""
    import logging

    import h5py

    from jetstudy.trainables.schema import JET_FEATURE_NAMES, LABEL_COLUMNS

    for i, name in enumerate("gqtwz"):
        data = np.random.default_rng(i).uniform(0.1, 1.0, (100, len(JET_FEATURE_NAMES)))
        data[:, [JET_FEATURE_NAMES.index(c) for c in LABEL_COLUMNS]] = np.eye(5)["gqwzt".index(
            name)]
        with h5py.File(tmp_path / f"{name}.h5", "w") as handle:
            handle["jets"] = data
            handle["jetFeatureNames"] = np.array([n.encode() for n in JET_FEATURE_NAMES])
    with caplog.at_level(logging.WARNING, logger="jetstudy.trainables.formats"):
        table = load_jets(tmp_path, max_jets=420)
    assert table.class_counts() == {"g": 100, "q": 100, "W": 100, "Z": 20, "t": 100}
    words = [r.getMessage() for r in caplog.records if "uneven" in r.getMessage()]
    assert len(words) == 1 and "(g 100, q 100, W 100, Z 20, t 100)" in words[0], words
    assert "raise data.max_jets to read every file" in words[0], words
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="jetstudy.trainables.formats"):
        load_jets(tmp_path)  # every file read: the data as it is, nothing to say
        load_jets(_write(tmp_path.parent / "mixed.csv", _frame()), max_jets=20)
    assert not [r for r in caplog.records if "uneven" in r.getMessage()]


def test_synth_refuses_a_flood_of_files(tmp_path: Path) -> None:
    """`jetstudy synth DIR --jets 200000 --jets-per-file 1` wrote 200,000 one-jet files (a
    typo for 10000, or 1 meant as 'one file'); more than 10,000 files is refused before any
    is written, naming the count and the smallest --jets-per-file that fits."""
    from tests.faults.conftest import checksums, jetstudy_here, one_line_error

    line = one_line_error(jetstudy_here("synth", "out", "--jets", "200000", "--jets-per-file",
                                        "1", cwd=tmp_path))
    assert "would write 200,000 files into DIR" in line and "at least 20" in line, line
    assert checksums(tmp_path) == {}


def test_a_quoted_value_holding_a_line_break_is_no_short_row(tmp_path: Path) -> None:
    """Rows are counted as a CSV reader reads them: a quoted `notes` value that holds a line
    break is one value of its row, not a line of one value (the counting runs when the last
    column has an empty cell, as here)."""
    frame = _frame()
    lines = [",".join(frame.columns) + ",notes"]
    for i, row in enumerate(_rows(frame)):
        lines.append(row + (',"two\nlines"' if i == 3 else "," if i % 2 else ",x"))
    path = tmp_path / "notes.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    read = load_jets(path)
    plain = load_jets(_write(tmp_path / "plain.csv", frame))
    np.testing.assert_array_equal(read.x, plain.x)
    np.testing.assert_array_equal(read.y, plain.y)


def test_a_folder_of_the_other_format_names_data_format(tmp_path: Path) -> None:
    """data.format: table on a folder of .h5 files said 'folder has no .csv/... files (found:
    a.h5), and data files lie deeper (e.g. a.h5 in DIR): ... give 'DIR/**/*.h5'', sending
    the user after files that lie right there; a .parquet file read with data.format: hdf5
    was told to 'rename it to .parquet'."""
    from jetstudy.trainables.schema import JET_FEATURE_NAMES

    folder = tmp_path / "jets"
    folder.mkdir()
    _format_a(folder / "a.h5", list(JET_FEATURE_NAMES))
    with pytest.raises(DataError) as refused:
        load_jets(folder, fmt="table")
    text = str(refused.value)
    assert "data.format is table, and the folder holds no such files but 1 HDF5 file (a.h5); " \
           "set data.format: hdf5" in text, text
    assert "deeper" not in text, text
    table = tmp_path / "jets.parquet"
    _frame().to_parquet(table, index=False)
    with pytest.raises(DataError) as refused:
        load_jets(table, fmt="hdf5")
    assert "rename it to .parquet" not in str(refused.value)
    assert "set data.format: table" in str(refused.value), str(refused.value)
