"""`retour import`: report and Data Loader CSVs through the same mapping and upsert, idempotently, with row errors."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from connector.importer import ImportFileError, import_csv, to18
from retour.models import Activity, FeedbackItem, Opportunity

from tests.connector_helpers import wipe

MAPPING = {"loss_reason": "Loss_Reason__c", "loss_detail": "Loss_Reason_Detail__c", "region": "Region__c",
           "extra": "speaks_basque=Speaks_Basque__c:boolean"}

REPORT = """\ufeff"Opportunity ID","Opportunity Name","Account ID","Stage","Amount","Close Date","Loss Reason","Loss Reason Detail","Region","Speaks Basque"
"006Hs00001ABCdE","Acme - 200 seats","001Hs00002QwErT","Closed Lost","EUR 48,000.00","30/06/2024","Price","Trop cher, ils ont choisi Globex.
Cordialement,
Jean","EMEA","1"
"006Hs00001ABCdF","Initech","001Hs00002QwErU","Prospecting","12000","01/09/2024","","","NA","0"
"006Hs00001ABCdG","Umbrella","001Hs00002QwErT","Closed Lost","lots","2024-07-02","Missing feature","No SAP export","EMEA","0"
"not-an-id","Broken","","Closed Lost","","2024-07-02","","","",""
"006Hs00001ABCdH","Bad date","","Closed Lost","100","32/13/2024","Price","","",""
"""


@pytest.fixture
def factory(engine):
    wipe(engine)
    yield sessionmaker(engine, expire_on_commit=False)
    wipe(engine)


@pytest.fixture
def settings(make_settings):
    return make_settings({"mapping": MAPPING})


def test_report_import_maps_labels_converts_ids_and_reports_bad_rows(factory, settings, tmp_path):
    path = tmp_path / "lost.csv"
    path.write_text(REPORT, encoding="utf-8")
    with factory() as s:
        result = import_csv(s, settings, path, "Opportunity")
        s.commit()
    assert (result["rows"], result["inserted"], result["updated"]) == (5, 2, 0)
    # spreadsheet row numbers (header = 1), counting records, not physical lines
    assert [(e["row"], e["column"]) for e in result["errors"]] == [(4, "Amount"), (5, "Opportunity ID"), (6, "Close Date")]
    assert "not a number" in result["errors"][0]["reason"] and "32/13/2024" in result["errors"][2]["reason"]
    with factory() as s:
        acme = s.get(Opportunity, to18("006Hs00001ABCdE"))
        assert acme.id == "006Hs00001ABCdEIAX" and str(acme.amount) == "48000.00"
        assert acme.close_date == dt.date(2024, 6, 30) and acme.is_closed and not acme.is_won
        assert acme.region == "EMEA" and acme.attributes == {"speaks_basque": True}
        item = s.scalars(select(FeedbackItem)).one()
        assert (item.text, item.lang, item.source_id) == ("Price. Trop cher, ils ont choisi Globex.", "fr", acme.id)


def test_reimporting_the_same_file_changes_nothing(factory, settings, tmp_path):
    path = tmp_path / "lost.csv"
    path.write_text(REPORT, encoding="utf-8")
    with factory() as s:
        import_csv(s, settings, path, "Opportunity")
        s.commit()
        before = [(o.id, o.synced_at) for o in s.scalars(select(Opportunity).order_by(Opportunity.id))]
        hashes = sorted(s.scalars(select(FeedbackItem.text_hash)))
    with factory() as s:
        again = import_csv(s, settings, path, "Opportunity")
        s.commit()
        after = [(o.id, o.synced_at) for o in s.scalars(select(Opportunity).order_by(Opportunity.id))]
        assert sorted(s.scalars(select(FeedbackItem.text_hash))) == hashes
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 2)
    assert after == before


def test_narrow_file_updates_only_its_columns(factory, settings, tmp_path):
    wide, narrow = tmp_path / "wide.csv", tmp_path / "narrow.csv"
    wide.write_text(REPORT, encoding="utf-8")
    narrow.write_text('Id;StageName\n006Hs00001ABCdFIAX;Closed Won\n', encoding="utf-8")  # Data Loader API names, ;
    with factory() as s:
        import_csv(s, settings, wide, "Opportunity")
        result = import_csv(s, settings, narrow, "Opportunity")
        s.commit()
        initech = s.get(Opportunity, "006Hs00001ABCdFIAX")
    assert result["updated"] == 1
    assert (initech.stage, initech.is_won, initech.name, initech.region) == ("Closed Won", True, "Initech", "NA")


def test_task_export_becomes_notes_linked_to_their_opportunity(factory, settings, tmp_path):
    path = tmp_path / "tasks.csv"
    path.write_text('"Activity ID","Subject","Comments","Related To ID","Account ID","Due Date","Status"\n'
                    '"00THs00000AbCdE","Call","Customer needs SSO with Okta before signing.\n-- \nJohn",'
                    '"006Hs00001ABCdE","001Hs00002QwErT","2024-06-01","Completed"\n', encoding="utf-8")
    with factory() as s:
        result = import_csv(s, settings, path, "Task")
        s.commit()
        task = s.scalars(select(Activity)).one()
        item = s.scalars(select(FeedbackItem)).one()
    assert result["inserted"] == 1 and task.kind == "Task" and task.is_closed
    assert (item.channel, item.opportunity_id, item.text) == ("note", "006Hs00001ABCdEIAX",
                                                              "Customer needs SSO with Okta before signing.")


def test_file_without_id_column_is_refused_with_what_to_add(factory, settings, tmp_path):
    path = tmp_path / "noid.csv"
    path.write_text('"Opportunity Name","Stage"\n"Acme","Closed Lost"\n', encoding="utf-8")
    with factory() as s, pytest.raises(ImportFileError, match="Opportunity ID"):
        import_csv(s, settings, path, "Opportunity")
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Opportunity)) == 0


def test_to18_matches_salesforce_checksum():
    assert to18("006Hs00001ABCdE") == "006Hs00001ABCdEIAX"
    assert to18("001Hs00002QwErT") == "001Hs00002QwErTIAV" and to18("006Hs00001ABCdEIAX") == "006Hs00001ABCdEIAX"
