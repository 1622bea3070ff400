"""The connector's sync against the demo org with its fault switches on: what Salesforce does on its bad days."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from connector.client import connect
from connector.demo_org import DemoOrg
from connector.demo_org.testing import SEEDED_DAY, Clock, shared_cache_dir
from connector.sync import run_sync
from retour import models
from retour.config import load_settings

from tests.connector_helpers import Sleeps, wipe

pytestmark = pytest.mark.demo_org
SCALE = 0.05


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    demo = DemoOrg(tmp_path_factory.mktemp("demo-org-faults-e2e"), scale=SCALE, cache_dir=shared_cache_dir(),
                   clock=Clock(SEEDED_DAY))
    demo.start()
    yield demo
    demo.stop()


@pytest.fixture
def factory(engine):
    wipe(engine)
    yield sessionmaker(engine, expire_on_commit=False)
    wipe(engine)


@pytest.fixture
def settings(org, database_url, tmp_path):
    return load_settings({"database_url": database_url, "data_dir": str(tmp_path)}, environ=org.env())


@contextlib.contextmanager
def fault(org: DemoOrg, *names: str):
    for name in names:
        org.enable_fault(name)
    try:
        yield
    finally:
        for name in names:
            org.disable_fault(name)


def test_a_deleted_note_leaves_the_mirror_without_get_deleted_which_content_note_lacks(org, factory, settings):
    client = connect(settings, sleep=Sleeps())
    assert run_sync(factory, settings, client, objects=["ContentNote"])["status"] == "ok"
    with factory() as s:
        local = set(s.scalars(select(models.Note.id)))
    gone = sorted(local)[0]
    org.hard_delete("ContentNote", gone)
    calls = org.api_calls
    report = run_sync(factory, settings, client, objects=["ContentNote"])
    assert report["status"] == "ok", report["error"]
    assert report["objects"]["ContentNote"]["deleted"] == 1
    with factory() as s:
        assert set(s.scalars(select(models.Note.id))) == local - {gone}
        assert gone not in set(s.scalars(select(models.FeedbackItem.source_id)))
    assert org.api_calls - calls == 2  # the incremental query and one page of Ids; no getDeleted call


def test_retour_check_says_when_the_integration_user_lacks_query_all_files(org, settings):
    from connector.checks import salesforce_checks

    granted = {r["check"]: r for r in salesforce_checks(settings)}["salesforce note access"]
    with fault(org, "no-query-all-files"):
        lacking = {r["check"]: r for r in salesforce_checks(settings)}["salesforce note access"]
    assert granted["ok"] and "Query All Files" in granted["detail"]
    assert not lacking["ok"]
    assert "lacks Query All Files" in lacking["detail"] and "Retour_Integration permission set" in lacking["detail"]


def test_the_permission_set_asks_for_query_all_files_and_the_view_all_data_it_needs():
    import xml.etree.ElementTree as ET
    from pathlib import Path

    path = (Path(__file__).parents[1] / "deploy" / "salesforce" / "force-app" / "main" / "default" / "permissionsets"
            / "Retour_Integration.permissionset-meta.xml")
    ns = {"m": "http://soap.sforce.com/2006/04/metadata"}
    enabled = {p.findtext("m:name", namespaces=ns) for p in ET.parse(path).getroot().findall("m:userPermissions", ns)
               if p.findtext("m:enabled", namespaces=ns) == "true"}
    # Query All Files requires View All Data (Salesforce Help, "Query All Files"): a set with one alone won't deploy.
    assert {"ApiEnabled", "QueryAllFiles", "ViewAllData"} <= enabled
