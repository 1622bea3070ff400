"""`retour themes` and `retour themes discover` from the command line."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from jobs.embed import TfidfEmbedder
from retour.cli import Context, _register, cli
from retour.config import load_settings
from tests.jobs.factories import LOGISTICS, MOBILE, PRICE, SSO

_register()


def _ctx(tmp_path, backend="tfidf"):
    ctx = Context()
    ctx._settings = load_settings({"data_dir": str(tmp_path / "data"),
                                   "database_url": f"sqlite:///{tmp_path / 'cli.db'}",
                                   "themes": {"backend": backend}}, environ={})
    return ctx


@pytest.fixture
def sample(tmp_path):
    path = tmp_path / "sample.jsonl"
    rows = [{"id": f"s{i}", "text": t} for i, t in enumerate(SSO)]
    rows += [{"id": f"p{i}", "text": t, "lang": "en"} for i, t in enumerate(PRICE)]
    rows += [{"id": f"m{i}", "text": t} for i, t in enumerate(MOBILE)]
    rows += [{"id": f"l{i}", "text": t} for i, t in enumerate(LOGISTICS)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_discover_prints_each_ids_theme_and_every_label(tmp_path, sample):
    result = CliRunner().invoke(cli, ["themes", "discover", str(sample)], obj=_ctx(tmp_path))
    assert result.exit_code == 0, result.output
    lines = dict(line.split("\t", 1) for line in result.output.splitlines() if line and not line.startswith("theme "))
    assert lines["l0"].startswith("none") and lines["l2"].startswith("none")
    assert lines["s0"].split("\t")[0] == lines["s3"].split("\t")[0] != "none"
    assert lines["s0"].split("\t")[0] != lines["m0"].split("\t")[0]
    assert sum(1 for line in result.output.splitlines() if line.startswith("theme ")) >= 3


def test_discover_json_lists_items_and_themes(tmp_path, sample):
    result = CliRunner().invoke(cli, ["themes", "discover", str(sample), "--json"], obj=_ctx(tmp_path))
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    by_id = {i["id"]: i for i in data["items"]}
    assert by_id["l1"]["theme_id"] is None
    assert by_id["p0"]["theme_id"] == by_id["p6"]["theme_id"] or by_id["p0"]["theme"]
    assert {t["label"] for t in data["themes"]} and all(t["label"] for t in data["themes"])
    assert not (tmp_path / "cli.db").exists()  # the throw-away store never touches the configured database


def test_discover_rejects_a_malformed_line_naming_it(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 1, "text": "ok text here"}\n{"text": "no id"}\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["themes", "discover", str(path)], obj=_ctx(tmp_path))
    assert result.exit_code == 1
    assert "bad.jsonl:2" in result.output and '"id"' in result.output


def test_themes_pass_by_hand_prints_figures_and_records_a_job_run(tmp_path):
    ctx = _ctx(tmp_path)
    result = CliRunner().invoke(cli, ["themes", "--json"], obj=ctx)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["themes_created"] == 0 and figures["backend"] == TfidfEmbedder.name
    from sqlalchemy import select

    from retour.models import JobRun
    with ctx.session_factory() as s:
        runs = s.scalars(select(JobRun)).all()
    assert [(r.job, r.status) for r in runs] == [("themes", "ok")]


def _write(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_discover_with_seeds_keeps_seeded_themes_and_names_and_assigns_the_rest(tmp_path, sample):
    seeds = _write(tmp_path / "seeds.jsonl", [
        {"id": "s0", "theme": "Single sign-on"}, {"id": "s1", "theme": "Single sign-on"},
        {"id": "p0", "theme": "Price per seat"}, {"id": "p1", "theme": "Price per seat"},
        {"id": "l0", "theme": None}])
    result = CliRunner().invoke(cli, ["themes", "discover", str(sample), "--seeds", str(seeds), "--json"],
                                obj=_ctx(tmp_path))
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    by_id = {i["id"]: i for i in data["items"]}
    assert by_id["s0"]["theme"] == by_id["s1"]["theme"] == "Single sign-on"
    assert by_id["p0"]["theme"] == "Price per seat"
    assert by_id["l0"]["theme_id"] is None  # "not feedback" stays out
    # Unseeded items of a seeded theme follow what the seeds taught.
    assert sum(by_id[f"s{i}"]["theme"] == "Single sign-on" for i in range(2, 7)) >= 4
    assert sum(by_id[f"p{i}"]["theme"] == "Price per seat" for i in range(2, 7)) >= 4
    assert data["figures"]["seed_themes_created"] == 2 and data["figures"]["seed_not_feedback"] == 1


def test_discover_refuses_a_seed_naming_an_id_not_in_the_file(tmp_path, sample):
    seeds = _write(tmp_path / "seeds.jsonl", [{"id": "s0", "theme": "SSO"}, {"id": "nope", "theme": "SSO"}])
    result = CliRunner().invoke(cli, ["themes", "discover", str(sample), "--seeds", str(seeds)], obj=_ctx(tmp_path))
    assert result.exit_code == 1
    assert "seeds.jsonl:2" in result.output and "'nope'" in result.output and "Traceback" not in result.output


def test_discover_refuses_a_seed_without_a_theme_key(tmp_path, sample):
    seeds = _write(tmp_path / "seeds.jsonl", [{"id": "s0"}])
    result = CliRunner().invoke(cli, ["themes", "discover", str(sample), "--seeds", str(seeds)], obj=_ctx(tmp_path))
    assert result.exit_code == 1 and "seeds.jsonl:1" in result.output and "null for not feedback" in result.output


def test_discover_refuses_an_empty_seeds_file_rather_than_running_unseeded(tmp_path, sample):
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text("\n  \n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["themes", "discover", str(sample), "--seeds", str(seeds)], obj=_ctx(tmp_path))
    assert result.exit_code == 1 and "no seeds" in result.output and "Traceback" not in result.output


def test_no_filter_keeps_requests_the_crm_filter_reads_as_logistics(tmp_path):
    rows = [{"id": f"t{i}", "text": t} for i, t in enumerate([
        "set a timer for ten minutes", "start a timer for 10 minutes please", "timer for ten minutes",
        "can you set a 10 minute timer", "remind me to call mom tomorrow", "set a reminder to call mom",
        "remind me tomorrow to call my mom", "add a reminder to call mom"])]
    path = _write(tmp_path / "requests.jsonl", rows)
    filtered = json.loads(CliRunner().invoke(cli, ["themes", "discover", str(path), "--json"],
                                             obj=_ctx(tmp_path)).output)
    unfiltered = json.loads(CliRunner().invoke(cli, ["themes", "discover", str(path), "--json", "--no-filter"],
                                               obj=_ctx(tmp_path)).output)
    themed = lambda data: sum(i["theme_id"] is not None for i in data["items"])  # noqa: E731
    assert themed(unfiltered) > themed(filtered)
    assert unfiltered["figures"]["segments_embedded"] == len(rows)


def test_discover_says_in_one_line_when_a_file_is_not_utf8(tmp_path, sample):
    bad = tmp_path / "latin1.jsonl"
    bad.write_bytes('{"id": 1, "text": "Réunion"}\n'.encode("cp1252"))
    result = CliRunner().invoke(cli, ["themes", "discover", str(bad)], obj=_ctx(tmp_path))
    assert result.exit_code == 1 and "latin1.jsonl:1: not UTF-8 text." in result.output
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_bytes('{"id": "s0", "theme": "Sécurité"}\n'.encode("cp1252"))
    result = CliRunner().invoke(cli, ["themes", "discover", str(sample), "--seeds", str(seeds)], obj=_ctx(tmp_path))
    assert result.exit_code == 1 and "seeds.jsonl:1: not UTF-8 text." in result.output


@pytest.mark.parametrize("content", ["", "\n  \n"], ids=["empty", "blank lines"])
def test_discover_says_in_one_line_when_a_file_holds_no_texts(tmp_path, content):
    path = tmp_path / "empty.jsonl"
    path.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(cli, ["themes", "discover", str(path)], obj=_ctx(tmp_path))
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines() == [f"Error: {path}: no texts (the file is empty); write one "
                                                  '{"id": …, "text": …} per line.']


def test_discover_keeps_ids_whole_when_two_share_their_first_40_characters(tmp_path):
    stem = "opportunity-export-2024-emea-enterprise-"  # 40 characters
    assert len(stem) == 40
    rows = [{"id": f"{stem}{i:03d}", "text": t} for i, t in enumerate(SSO + PRICE)]
    path = tmp_path / "long-ids.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(json.dumps({"id": f"{stem}000", "theme": "Single sign-on"}) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["themes", "discover", str(path), "--seeds", str(seeds), "--json"],
                                obj=_ctx(tmp_path))
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [i["id"] for i in data["items"]] == [r["id"] for r in rows]
    assert data["items"][0]["theme"] == "Single sign-on"
    assert sum(i["theme_id"] is not None for i in data["items"]) > len(rows) // 2  # each id has its own theme


def _unescape(cell: str) -> str:
    return json.loads(f'"{cell}"')  # the text output's escapes are JSON's: \\, \t, \n, \r, \uXXXX


def test_text_output_escapes_tabs_newlines_and_control_characters_in_ids_one_line_per_id(tmp_path):
    ids = ["tab\there", "new\nline", "back\\slash\\t", "cr\rhere", "esc\x1b[2Jape", "bell\x07", "sep\u2028x",
           "rtl\u202eok"] + [f"plain{i}" for i in range(len(SSO + PRICE) - 8)]
    rows = [{"id": i, "text": t} for i, t in zip(ids, SSO + PRICE)]
    path = _write(tmp_path / "odd-ids.jsonl", rows)
    result = CliRunner().invoke(cli, ["themes", "discover", str(path)], obj=_ctx(tmp_path))
    assert result.exit_code == 0, result.output
    item_lines = result.output.split("\n")[:len(rows)]
    assert all(len(line.split("\t")) == 3 for line in item_lines), item_lines
    assert [_unescape(line.split("\t")[0]) for line in item_lines] == ids
    assert not any(c in result.output for c in "\r\x1b\x07\u2028\u202e")
    data = json.loads(CliRunner().invoke(cli, ["themes", "discover", str(path), "--json"], obj=_ctx(tmp_path)).output)
    assert [i["id"] for i in data["items"]] == ids  # --json gives them as they are


def test_discover_help_says_how_much_of_a_text_is_read_and_how_the_text_output_escapes(tmp_path):
    from jobs.segment import MAX_TEXT_READ

    result = CliRunner().invoke(cli, ["themes", "discover", "--help"], obj=_ctx(tmp_path))
    assert result.exit_code == 0, result.output
    words = " ".join(result.output.split())
    assert f"Only the first {MAX_TEXT_READ:,} characters of a text are read" in words
    assert "U+FFFD" in words and "byte order mark" in words
    assert r"written \\, \t, \n, \r and any other control character as \uXXXX; --json gives them as they are" in words
