"""`retour import`: report and Data Loader CSVs through the same mapping and upsert, idempotently, with row errors."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from click.testing import CliRunner
from sqlalchemy import event, func, select

from connector.importer import BATCH_ROWS, ImportFileError, ImportRejected, import_csv, import_file, to18
from retour.cli import Context, _register, cli
from retour.models import Activity, FeedbackItem, Opportunity


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
def settings(make_settings):
    return make_settings({"mapping": MAPPING})


def test_report_import_maps_labels_converts_ids_and_reports_bad_rows(factory, settings, tmp_path):
    path = tmp_path / "lost.csv"
    path.write_text(REPORT, encoding="utf-8")
    with factory() as s:
        result = import_csv(s, settings, path, "Opportunity", keep_good=True)
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
        import_csv(s, settings, path, "Opportunity", keep_good=True)
        s.commit()
        before = [(o.id, o.synced_at) for o in s.scalars(select(Opportunity).order_by(Opportunity.id))]
        hashes = sorted(s.scalars(select(FeedbackItem.text_hash)))
    with factory() as s:
        again = import_csv(s, settings, path, "Opportunity", keep_good=True)
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
        import_csv(s, settings, wide, "Opportunity", keep_good=True)
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


# --------------------------------------------------------------------------------------------- hostile files
HEADER = '"Opportunity ID","Opportunity Name","Stage","Amount","Loss Reason Detail"\n'


def _opp(n: int, detail: str = "They chose Globex", amount: str = "1000") -> str:
    return f'"006Hs{n:010d}","Deal {n}","Closed Lost","{amount}","{detail} {n}"\n'


def _count(factory) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(Opportunity))


def test_a_cp1252_file_whose_first_accent_comes_after_64_kb_is_read_as_cp1252(factory, settings, tmp_path):
    rows = [_opp(n) for n in range(1, 1500)]
    assert len("".join(rows)) > 65536
    path = tmp_path / "excel.csv"
    path.write_bytes((HEADER + "".join(rows) + _opp(1500, "Réunion annulée, trop cher")).encode("cp1252"))
    with factory() as s:
        result = import_csv(s, settings, path, "Opportunity")
        s.commit()
    assert (result["encoding"], result["inserted"]) == ("cp1252", 1500)
    with factory() as s:
        item = s.scalars(select(FeedbackItem).where(FeedbackItem.source_id == to18("006Hs0000001500"))).one()
    assert item.text.startswith("Réunion annulée, trop cher")


def test_a_file_mixing_utf8_and_cp1252_is_refused_naming_the_line(factory, settings, tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes((HEADER + _opp(1, "Déjà vu")).encode("utf-8") + _opp(2, "Réunion").encode("cp1252"))
    with factory() as s, pytest.raises(ImportFileError, match=r"mixes encodings: UTF-8 text before line 3"):
        import_csv(s, settings, path, "Opportunity")
    assert _count(factory) == 0


def test_a_utf16_export_is_read(factory, settings, tmp_path):
    path = tmp_path / "unicode.txt"
    path.write_text((HEADER + _opp(1, "Sécurité")).replace(",", "\t"), encoding="utf-16")
    with factory() as s:
        result = import_csv(s, settings, path, "Opportunity")
        s.commit()
    assert (result["encoding"], result["inserted"]) == ("utf-16", 1)


@pytest.mark.parametrize("content,what", [
    (b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)) * 40, "an Excel workbook"),
    (bytes(range(256)) * 40, "binary data"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "an image"),
], ids=["xlsx", "random bytes", "png"])
def test_a_binary_file_is_one_clear_error_and_nothing_is_imported(factory, settings, tmp_path, content, what):
    path = tmp_path / "report.csv"
    path.write_bytes(content)
    with factory() as s, pytest.raises(ImportFileError, match=f"report.csv is {what}.*, not a CSV file") as caught:
        import_csv(s, settings, path, "Opportunity")
    assert "\n" not in str(caught.value)
    assert _count(factory) == 0


def test_a_file_without_the_stage_is_refused_before_any_row(factory, settings, tmp_path):
    path = tmp_path / "idname.csv"
    path.write_text('Id,Name\n006Hs00001ABCdE,Acme\n', encoding="utf-8")
    with factory() as s, pytest.raises(ImportFileError) as caught:
        import_csv(s, settings, path, "Opportunity")
    assert 'no column for the stage ("Stage" or "StageName"' in str(caught.value)
    assert 'Columns found: "Id", "Name"' in str(caught.value)
    assert _count(factory) == 0


@pytest.mark.parametrize("sobject,header", [("Task", "Activity ID,Status"), ("Case", "Case ID,Status")])
def test_activities_and_cases_need_a_text_column(factory, settings, tmp_path, sobject, header):
    path = tmp_path / "narrow.csv"
    path.write_text(f"{header}\n00THs00000AbCdE,Completed\n", encoding="utf-8")
    with factory() as s, pytest.raises(ImportFileError, match="no column for a text"):
        import_csv(s, settings, path, sobject)


def _amounts(factory) -> dict[str, Decimal]:
    with factory() as s:
        return {o.name: o.amount for o in s.scalars(select(Opportunity))}


def test_a_french_export_reads_1_500_as_fifteen_hundred(factory, settings, tmp_path):
    path = tmp_path / "fr.csv"
    path.write_text("Id;Nom de l'opportunité;Étape;Montant\n006Hs00001ABCdE;Acme;Closed Lost;1.500\n"
                    "006Hs00001ABCdF;Initech;Closed Lost;1 500,50\n006Hs00001ABCdG;Umbrella;Closed Lost;12 000 €\n",
                    encoding="utf-8")
    with factory() as s:
        result = import_csv(s, settings, path, "Opportunity")
        s.commit()
    assert (result["decimal"], result["errors_total"]) == (",", 0)
    assert _amounts(factory) == {"Acme": Decimal("1500"), "Initech": Decimal("1500.50"), "Umbrella": Decimal("12000")}


def test_a_french_export_whose_every_amount_reads_both_ways_goes_by_its_language(factory, settings, tmp_path):
    path = tmp_path / "fr.csv"
    path.write_text("Id;Étape;Montant\n006Hs00001ABCdE;Closed Lost;1.500\n", encoding="utf-8")
    with factory() as s:
        result = import_csv(s, settings, path, "Opportunity")
        s.commit()
    assert result["decimal"] == "," and "French" in result["decimal_from"]
    with factory() as s:
        assert s.scalars(select(Opportunity.amount)).one() == Decimal("1500")


def test_an_english_export_keeps_its_decimal_point_and_thousands_commas(factory, settings, tmp_path):
    path = tmp_path / "en.csv"
    path.write_text("Id,Stage,Amount\n006Hs00001ABCdE,Closed Lost,\"1,500\"\n006Hs00001ABCdF,Closed Lost,1.5\n",
                    encoding="utf-8")
    with factory() as s:
        result = import_csv(s, settings, path, "Opportunity")
        s.commit()
    assert result["decimal"] == "."
    with factory() as s:
        assert sorted(s.scalars(select(Opportunity.amount))) == [Decimal("1.5"), Decimal("1500")]


def test_amounts_written_both_ways_ask_for_the_decimal_mark(factory, settings, tmp_path):
    path = tmp_path / "both.csv"
    path.write_text('Id,Stage,Amount\n006Hs00001ABCdE,Closed Lost,"1,500.25"\n006Hs00001ABCdF,Closed Lost,"1.500,25"\n',
                    encoding="utf-8")
    with factory() as s, pytest.raises(ImportFileError, match=r"writes amounts both ways .* --decimal"):
        import_csv(s, settings, path, "Opportunity")
    with factory() as s:  # said explicitly: the row the other way is a bad row, listed
        with pytest.raises(ImportRejected) as caught:
            import_csv(s, settings, path, "Opportunity", decimal=",")
    assert [(e["row"], e["column"]) for e in caught.value.errors] == [(2, "Amount")]
    assert _count(factory) == 0


def _ctx(tmp_path, engine_url: str) -> Context:
    from retour.config import load_settings

    ctx = Context()
    ctx._settings = load_settings({"data_dir": str(tmp_path / "data"), "database_url": engine_url,
                                   "mapping": MAPPING}, environ={})
    return ctx


def test_a_partly_bad_file_imports_nothing_and_lists_its_bad_rows(factory, tmp_path, database_url):
    _register()
    path = tmp_path / "lost.csv"
    path.write_text(REPORT, encoding="utf-8")
    result = CliRunner().invoke(cli, ["import", str(path), "--object", "Opportunity"], obj=_ctx(tmp_path, database_url))
    assert result.exit_code == 1
    assert "lost.csv: nothing imported: 3 of 5 rows cannot be read" in result.stderr and "--keep-good" in result.stderr
    assert [line.split(":")[0].strip() for line in result.stderr.splitlines()[1:]] == ["row 4", "row 5", "row 6"]
    assert "Traceback" not in result.output
    assert _count(factory) == 0
    kept = CliRunner().invoke(cli, ["import", str(path), "--object", "Opportunity", "--keep-good", "--json"],
                              obj=_ctx(tmp_path, database_url))
    assert kept.exit_code == 1 and json.loads(kept.stdout)["inserted"] == 2
    assert _count(factory) == 2


@pytest.mark.parametrize("content", [b"", b"\x00\x01\x02\x03\x04\x05\x06\x07\x08" * 10,
                                     'Id,Name\n006Hs00001ABCdE,Acme\n'.encode()], ids=["empty", "binary", "Id,Name"])
def test_the_import_command_says_what_is_wrong_with_a_file_in_one_line(factory, tmp_path, database_url, content):
    _register()
    path = tmp_path / "file.csv"
    path.write_bytes(content)
    result = CliRunner().invoke(cli, ["import", str(path), "--object", "Opportunity"], obj=_ctx(tmp_path, database_url))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("Error: file.csv ")
    assert _count(factory) == 0


class LazyExport(io.RawIOBase):
    """A CSV export made one row at a time as the importer reads it, that fails if asked for all of it at once, and
    records how far its reading ran ahead of the rows stored (``stored()``) while it was open."""

    def __init__(self, rows: int, stored) -> None:
        self.lines = (HEADER if n == 0 else _opp(n) for n in range(rows + 1))
        self.pending, self.produced, self.stored, self.start, self.lead = b"", 0, stored, stored(), 0

    def readable(self) -> bool:
        return True

    def readall(self) -> bytes:
        raise AssertionError("the importer read the whole file at once")

    def readinto(self, buffer) -> int:
        assert len(buffer) <= 2**20, f"a read of {len(buffer)} bytes"
        while len(self.pending) < len(buffer):
            line = next(self.lines, None)
            if line is None:
                break
            self.pending += line.encode()
            self.produced += 1
        self.lead = max(self.lead, self.produced - (self.stored() - self.start))
        n = min(len(buffer), len(self.pending))
        buffer[:n], self.pending = self.pending[:n], self.pending[n:]
        return n


def test_the_import_reads_the_file_as_a_stream_and_stores_it_in_batches(factory, settings, engine):
    """The mechanism behind a 200 MB CSV under 500 MB (bench/hostile_sizes.py measures it): each pass reads a
    bounded chunk at a time, and the write pass is never more than one batch ahead of the rows it stored."""
    rows, stored, opened = 2 * BATCH_ROWS + 345, [0], []

    def count(_conn, _cursor, statement, parameters, _context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO OPPORTUNITY "):
            stored[0] += len(parameters) if executemany else 1

    def opener():
        opened.append(LazyExport(rows, lambda: stored[0]))
        return opened[-1]

    event.listen(engine, "before_cursor_execute", count)
    try:
        with factory() as s:
            result = import_file(s, settings, opener, "lazy.csv", "Opportunity")
            s.commit()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert result["inserted"] == rows == stored[0] == _count(factory)
    writer = opened[-1]
    assert writer.produced == rows + 1 and writer.lead <= BATCH_ROWS + 200, writer.lead


def test_a_file_whose_only_accent_is_its_last_byte_is_read_as_cp1252(factory, settings, tmp_path):
    path = tmp_path / "last.csv"  # \xe9 could start a UTF-8 character: only the end of the file says it does not
    path.write_bytes((HEADER + _opp(1)).encode() + b'"006Hs0000000002","Deal 2","Closed Lost","1","Caf\xe9')
    with factory() as s:
        assert import_csv(s, settings, path, "Opportunity")["encoding"] == "cp1252"
        s.commit()
    with factory() as s:
        assert s.scalars(select(FeedbackItem.text).where(FeedbackItem.source_id == to18("006Hs0000000002"))).one() \
            == "Café"


FRENCH_REPORT = "Id de l'opportunité;Étape;Parle basque\n006Hs00001ABCdE;Closed Lost;1\n006Hs00001ABCdF;Closed Lost;0\n"


def _basque(factory) -> dict[str, dict]:
    with factory() as s:
        return {o.id: o.attributes for o in s.scalars(select(Opportunity))}


def test_a_french_export_names_a_mapped_field_by_its_salesforce_translation(factory, settings, tmp_path):
    """The sync kept Speaks_Basque__c's French label from the describe: a report exported from a French Salesforce
    calls the column by it, and the column is read into the field, not dropped."""
    from retour.models import SyncState

    with factory() as s:
        s.add(SyncState(object_name="Opportunity", details={
            "labels": {"Speaks_Basque__c": "Speaks Basque"},
            "labels_by_language": {"fr": {"Speaks_Basque__c": "Parle basque"}}}))
        s.commit()
    path = tmp_path / "fr.csv"
    path.write_text(FRENCH_REPORT, encoding="utf-8")
    with factory() as s:
        result = import_csv(s, settings, path, "Opportunity")
        s.commit()
    assert (result["inserted"], result["errors_total"]) == (2, 0)
    assert _basque(factory) == {"006Hs00001ABCdEIAX": {"speaks_basque": True},
                                "006Hs00001ABCdFIAX": {"speaks_basque": False}}


def test_a_french_export_names_a_mapped_field_by_its_configured_label_fr(factory, make_settings, tmp_path):
    settings = make_settings({"mapping": {**MAPPING, "extra": {"speaks_basque": {
        "field": "Speaks_Basque__c", "kind": "boolean", "label": "Basque speaker", "label_fr": "Parle basque"}}}})
    path = tmp_path / "fr.csv"
    path.write_text(FRENCH_REPORT, encoding="utf-8")
    with factory() as s:  # never synced: no describe to read labels from
        import_csv(s, settings, path, "Opportunity")
        s.commit()
    assert _basque(factory)["006Hs00001ABCdEIAX"] == {"speaks_basque": True}


def test_a_french_export_of_a_field_whose_label_nobody_knows_leaves_it_unread(factory, settings, tmp_path):
    path = tmp_path / "fr.csv"
    path.write_text(FRENCH_REPORT, encoding="utf-8")
    with factory() as s:  # never synced, no label_fr: "Parle basque" is no column Retour knows
        import_csv(s, settings, path, "Opportunity")
        s.commit()
    assert _basque(factory)["006Hs00001ABCdEIAX"] == {}
