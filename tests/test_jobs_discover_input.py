"""What `retour themes discover` makes of the files people export: broken characters, odd ids, BOMs, bad names.

Every refusal is one line naming the file and the line, exits 1 and writes nothing; CRM text is untrusted.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from jobs.sample import read_jsonl
from retour.cli import cli
from tests.jobs.factories import PRICE, SSO
from tests.test_jobs_cli import _ctx

CUT_EMOJI = '"\\ud83d"'  # valid JSON: the first half of 😀, as an export cutting a text at a length leaves it


def _lines(path, *lines: str):
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def _run(tmp_path, *args):
    return CliRunner().invoke(cli, ["themes", "discover", *map(str, args)], obj=_ctx(tmp_path))


def _refused(result, *parts: str) -> str:
    """The one-line error of a refusal, checked: exit 1, no traceback, no result printed."""
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for part in parts:
        assert part in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def sample(tmp_path):
    rows = [{"id": f"s{i}", "text": t} for i, t in enumerate(SSO)]
    rows += [{"id": f"p{i}", "text": t} for i, t in enumerate(PRICE)]
    return _lines(tmp_path / "sample.jsonl", *(json.dumps(r) for r in rows))


def test_a_cut_emoji_in_a_text_is_read_as_a_replacement_character_and_the_rest_is_kept(tmp_path, sample):
    rows = [json.loads(line) for line in sample.read_text(encoding="utf-8").splitlines()]
    text = f'{{"id": "cut", "text": "Love it {CUT_EMOJI[1:-1]} but we need SSO with Okta before we can sign"}}'
    path = _lines(tmp_path / "cut.jsonl", *(json.dumps(r) for r in rows), text)
    assert read_jsonl(path)[-1]["text"] == "Love it \ufffd but we need SSO with Okta before we can sign"
    result = _run(tmp_path, path, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["items"][-1]["id"] == "cut"


def test_a_cut_emoji_in_an_id_is_refused_naming_the_line(tmp_path):
    path = _lines(tmp_path / "ids.jsonl", '{"id": "a", "text": "fine"}', f'{{"id": {CUT_EMOJI}, "text": "fine"}}')
    _refused(_run(tmp_path, path), "ids.jsonl:2: the id '\\ud83d' holds a broken character (half of a UTF-16 pair, "
             "e.g. a cut emoji): fix the export.")


def test_a_cut_emoji_in_a_seed_id_or_theme_name_is_refused_naming_the_line(tmp_path, sample):
    seeds = _lines(tmp_path / "seeds.jsonl", '{"id": "s0", "theme": "SSO"}', f'{{"id": {CUT_EMOJI}, "theme": "SSO"}}')
    _refused(_run(tmp_path, sample, "--seeds", seeds), "seeds.jsonl:2: the id", "holds a broken character")
    seeds = _lines(tmp_path / "seeds.jsonl", f'{{"id": "s0", "theme": "SSO \\ud83d"}}')
    _refused(_run(tmp_path, sample, "--seeds", seeds),
             "seeds.jsonl:1: the theme name holds a broken character (half of a UTF-16 pair", "fix the export")


@pytest.mark.parametrize(("bad_line", "total"), [(250, 300), (2, 2)])
def test_a_byte_that_is_not_utf8_is_reported_on_its_own_line(tmp_path, bad_line, total):
    lines = [json.dumps({"id": n, "text": f"line {n}, Reunion"}).encode() for n in range(1, total + 1)]
    lines[bad_line - 1] = lines[bad_line - 1].replace(b"Reunion", "Réunion".encode("cp1252"))
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    where = len(f'{{"id": {bad_line}, "text": "line {bad_line}, R') + 1
    _refused(_run(tmp_path, path), f"latin1.jsonl:{bad_line}: not UTF-8 text. Save or export the file as UTF-8",
             f"character {where} of the line is the byte 0xE9")


def test_a_utf8_bom_at_the_start_of_a_file_or_of_the_seeds_is_accepted(tmp_path, sample):
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + sample.read_bytes())  # what Excel writes
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_bytes(b"\xef\xbb\xbf" + b'{"id": "s0", "theme": "Single sign-on"}\n')
    result = _run(tmp_path, bom, "--seeds", seeds, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["items"][0] == {"id": "s0", "theme_id": data["items"][0]["theme_id"], "theme": "Single sign-on"}


@pytest.mark.parametrize("text", ["", "   \t ", "...", " - "], ids=["empty", "blank", "dots", "dash"])
def test_a_seed_on_an_item_without_text_is_refused_naming_the_seed_line_and_the_item(tmp_path, sample, text):
    path = _lines(tmp_path / "sample.jsonl", *sample.read_text(encoding="utf-8").splitlines(),
                  json.dumps({"id": "blank-1", "text": text}))
    seeds = _lines(tmp_path / "seeds.jsonl", '{"id": "s0", "theme": "SSO"}', '{"id": "blank-1", "theme": "SSO"}')
    _refused(_run(tmp_path, path, "--seeds", seeds),
             "seeds.jsonl:2: item 'blank-1' has no text to learn from: remove the seed or give the item text.")


def test_a_not_feedback_seed_on_an_item_without_text_is_let_through(tmp_path, sample):
    path = _lines(tmp_path / "sample.jsonl", *sample.read_text(encoding="utf-8").splitlines(),
                  json.dumps({"id": "blank-1", "text": " "}))
    seeds = _lines(tmp_path / "seeds.jsonl", '{"id": "s0", "theme": "SSO"}', '{"id": "blank-1", "theme": null}')
    result = _run(tmp_path, path, "--seeds", seeds, "--json")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("value", ["null", "true", "false", "{}", '{"x": 1}', "[]", "NaN", "Infinity"])
def test_an_id_that_is_not_a_string_or_a_number_is_refused(tmp_path, sample, value):
    path = _lines(tmp_path / "ids.jsonl", '{"id": "None", "text": "fine"}', f'{{"id": {value}, "text": "fine"}}')
    _refused(_run(tmp_path, path), 'ids.jsonl:2: "id" must be a string or a number')
    seeds = _lines(tmp_path / "seeds.jsonl", '{"id": "s0", "theme": "SSO"}', f'{{"id": {value}, "theme": "SSO"}}')
    _refused(_run(tmp_path, sample, "--seeds", seeds), 'seeds.jsonl:2: "id" must be a string or a number')


def test_ids_that_are_numbers_come_back_as_their_value(tmp_path):
    path = _lines(tmp_path / "ids.jsonl", *(json.dumps({"id": n, "text": t}) for n, t in enumerate(SSO, 1)),
                  f'{{"id": 2.50, "text": {json.dumps(PRICE[0])}}}')
    result = _run(tmp_path, path, "--json")
    assert result.exit_code == 0, result.output
    assert [i["id"] for i in json.loads(result.output)["items"]] == [str(n) for n in range(1, len(SSO) + 1)] + ["2.5"]


@pytest.mark.parametrize("name", ["\u200b", "\u200b\u200d\u2060", "\u3164", "SSO\u0007", "\u001b[31mSSO", "SSO\x7f"],
                         ids=["zero-width space", "format characters", "hangul filler", "bell", "escape", "delete"])
def test_a_theme_name_without_visible_characters_or_with_a_control_character_is_refused(tmp_path, sample, name):
    seeds = _lines(tmp_path / "seeds.jsonl", json.dumps({"id": "s0", "theme": name}))
    line = _refused(_run(tmp_path, sample, "--seeds", seeds),
                    "seeds.jsonl:1:", "a theme name needs visible characters and no control characters")
    assert "\x07" not in line and "\x1b" not in line and "\x7f" not in line  # shown escaped, never acted on


def test_a_theme_name_with_an_emoji_joined_by_zero_width_joiners_is_kept_whole(tmp_path, sample):
    name = "\U0001f469\u200d\U0001f4bb Dev tools"
    seeds = _lines(tmp_path / "seeds.jsonl", json.dumps({"id": "s0", "theme": name}))
    result = _run(tmp_path, sample, "--seeds", seeds, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["items"][0]["theme"] == name


@pytest.mark.parametrize(("line", "why"), [('{"id": 1' + "0" * 5000 + ', "text": "x"}', "4300 digits"),
                                           ("[" * 100_000, "nested too deeply")], ids=["huge number", "deep nesting"])
def test_a_line_json_cannot_hold_in_python_is_refused_naming_it(tmp_path, line, why):
    path = _lines(tmp_path / "odd.jsonl", '{"id": "a", "text": "fine"}', line)
    _refused(_run(tmp_path, path), "odd.jsonl:2: not valid JSON (", why)
