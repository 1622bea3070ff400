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
