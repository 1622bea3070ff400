"""What `retour themes discover` makes of the files people export: broken characters, odd ids, BOMs, bad names.

Every refusal is one line naming the file and the line, exits 1 and writes nothing; CRM text is untrusted.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from retour.cli import cli
from tests.jobs.factories import PRICE, SSO
from tests.test_jobs_cli import _ctx


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


@pytest.mark.parametrize(("line", "why"), [('{"id": 1' + "0" * 5000 + ', "text": "x"}', "4300 digits"),
                                           ("[" * 100_000, "nested too deeply")], ids=["huge number", "deep nesting"])
def test_a_line_json_cannot_hold_in_python_is_refused_naming_it(tmp_path, line, why):
    path = _lines(tmp_path / "odd.jsonl", '{"id": "a", "text": "fine"}', line)
    _refused(_run(tmp_path, path), "odd.jsonl:2: not valid JSON (", why)
