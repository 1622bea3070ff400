"""The SFDX project in deploy/salesforce matches what the push code writes, field by field and type by type.

The written fields come from the code's own payload builders (planning, withdrawal, the wire record), never
from a hand list; Task's standard fields are checked against the demo org's describe of Task.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from connector.demo_org.schema import OBJECTS
from connector.push import wire_record
from connector.push_plan import (
    AccountRow,
    DecisionRow,
    EvidenceRow,
    OpportunityRow,
    OwnerRow,
    PlanOptions,
    plan_pushes,
)
from retour.config import load_settings
from retour.models import PushItem

ROOT = Path(__file__).resolve().parents[1] / "deploy" / "salesforce"
DEFAULT = ROOT / "force-app" / "main" / "default"
NS = {"m": "http://soap.sforce.com/2006/04/metadata"}
PREFIX = {"006": "Opportunity", "001": "Account", "005": "User"}


def xml(path: Path) -> ET.Element:
    return ET.parse(path).getroot()


def text(el: ET.Element, tag: str) -> str | None:
    found = el.find(f"m:{tag}", NS)
    return found.text if found is not None else None


def custom_fields(obj: str) -> dict[str, ET.Element]:
    return {p.name.split(".")[0]: xml(p) for p in (DEFAULT / "objects" / obj / "fields").glob("*.field-meta.xml")}


def picklist_values(field: ET.Element) -> set[str]:
    return {v.text for v in field.findall("m:valueSet/m:valueSetDefinition/m:value/m:fullName", NS)}


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return load_settings({"data_dir": str(tmp_path_factory.mktemp("d")), "web": {"base_url": "https://retour.example.com"},
                          "push": {"chatter": False}}, environ={})


@pytest.fixture(scope="module")
def written(settings) -> dict[str, list[dict]]:
    """Every record the push code can put on the wire, per sObject: sends, updates and withdrawals."""
    opp = "0067R0000000001QAA"
    opps = {opp: OpportunityRow(opp, "ACME renewal", "0017R0000000001QAA", "0057R0000000002QAA", "Closed Lost", True,
                                False, dt.date(2026, 3, 2))}
    accounts = {"0017R0000000001QAA": AccountRow("0017R0000000001QAA", "ACME", "0057R0000000002QAA")}
    owners = {"0057R0000000002QAA": OwnerRow("0057R0000000002QAA", "Ana")}
    out: dict[str, list[dict]] = {}
    for status in ("investigating", "planned", "shipped", "wont_do"):
        d = DecisionRow(id=7, theme_id=3, status=status, target="Q3 " * 40, insight_en="x" * 31_000, insight_fr="y",
                        title_en="SSO " * 100, title_fr="y")
        plan = plan_pushes(d, [EvidenceRow(opp, None, "en")], opps, accounts, owners,
                           PlanOptions(base_url="https://retour.example.com"), dt.date(2026, 11, 18))
        for intended in plan:
            assert not intended.skipped
            item = PushItem(kind=intended.kind, sobject=intended.sobject, external_key=intended.key, payload=intended.payload(),
                            state="approved", sf_id=None)
            out.setdefault(item.sobject, []).append(wire_record(item, settings))
            for mode in ("update", "upsert"):  # a withdrawal, by Id and by key
                item.state, item.sf_id = "withdrawing", ("a0R7R0000000001QAA" if mode == "update" else None)
                item.payload = {**intended.payload(), "withdraw": {"mode": mode}}
                out[item.sobject].append(wire_record(item, settings))
    return out


def test_every_insight_field_the_code_writes_exists_with_a_type_that_accepts_the_value(written):
    fields = custom_fields("Retour_Insight__c")
    obj = xml(DEFAULT / "objects" / "Retour_Insight__c" / "Retour_Insight__c.object-meta.xml")
    records = written["Retour_Insight__c"]
    assert len(records) >= 8
    seen = set()
    for record in records:
        assert record["attributes"] == {"type": "Retour_Insight__c"}
        for name, value in record.items():
            seen.add(name)
            if name in ("attributes", "Id"):
                continue
            if name == "Name":
                assert obj.find("m:nameField/m:type", NS).text == "Text" and len(value) <= 80
                continue
            assert name in fields, f"the push writes Retour_Insight__c.{name}, missing from deploy/salesforce"
            field = fields[name]
            kind = text(field, "type")
            if value is None:
                assert text(field, "required") != "true"
            elif kind in ("Text", "LongTextArea"):
                assert isinstance(value, str) and len(value) <= int(text(field, "length")), name
            elif kind == "Url":
                assert re.match(r"https?://", value), name
            elif kind == "Picklist":
                assert value in picklist_values(field), (name, value)
            elif kind == "Lookup":
                assert PREFIX[value[:3]] == text(field, "referenceTo") and len(value) == 18, name
            else:
                pytest.fail(f"unexpected metadata type {kind} for {name}")
    assert {"Retour_Key__c", "Opportunity__c", "Account__c", "Status__c", "Insight__c", "Insight_En__c", "Insight_Fr__c",
            "Title_En__c", "Title_Fr__c"} <= seen


def test_every_task_field_the_code_writes_is_standard_and_writable_or_in_the_activity_metadata(written):
    activity = custom_fields("Activity")
    task = OBJECTS["Task"]
    for record in written["Task"]:
        for name, value in record.items():
            if name in ("attributes", "Id"):
                continue
            if name.endswith("__c"):
                assert name in activity, f"the push writes Task.{name}, missing from objects/Activity/fields"
                assert text(activity[name], "type") == "Text" and len(value) <= int(text(activity[name], "length"))
            else:
                f = task.get(name)
                assert f is not None and f.createable and f.updateable, f"Task.{name} is not a writable standard field"
                if f.picklist and value is not None:
                    assert value in f.picklist, (name, value)


def test_upsert_keys_are_unique_external_ids_where_the_settings_point(settings):
    insight_key = custom_fields("Retour_Insight__c")[settings.push.insight_key_field]
    task_key = custom_fields("Activity")[settings.push.task_key_field]
    for field in (insight_key, task_key):
        assert text(field, "externalId") == "true" and text(field, "unique") == "true"
    assert settings.push.insight_object == "Retour_Insight__c"


def test_permission_set_lets_the_integration_user_write_every_custom_field_it_writes(written):
    perms = xml(DEFAULT / "permissionsets" / "Retour_Integration.permissionset-meta.xml")
    editable = {text(fp, "field") for fp in perms.findall("m:fieldPermissions", NS) if text(fp, "editable") == "true"}
    needed = {f"Retour_Insight__c.{k}" for r in written["Retour_Insight__c"] for k in r if k.endswith("__c")}
    needed |= {f"Activity.{k}" for r in written["Task"] for k in r if k.endswith("__c")}
    assert needed <= editable, needed - editable
    objects = {text(op, "objectName"): op for op in perms.findall("m:objectPermissions", NS)}
    assert text(objects["Retour_Insight__c"], "allowCreate") == "true" and text(objects["Retour_Insight__c"], "allowEdit") == "true"


def test_the_lightning_component_targets_record_pages_and_reads_fields_that_exist():
    bundle = DEFAULT / "lwc" / "retourInsights"
    meta = xml(bundle / "retourInsights.js-meta.xml")
    assert text(meta, "isExposed") == "true"
    assert "lightning__RecordPage" in {t.text for t in meta.findall("m:targets/m:target", NS)}
    assert {o.text for o in meta.findall("m:targetConfigs/m:targetConfig/m:objects/m:object", NS)} == {"Opportunity", "Account"}
    js = (bundle / "retourInsights.js").read_text(encoding="utf-8")
    assert "getRelatedListRecords" in js and "lightning/uiRelatedListApi" in js
    fields = custom_fields("Retour_Insight__c")
    for name in re.findall(r"'Retour_Insight__c\.(\w+)'", js):
        assert name in fields or name in ("Id", "Name", "CreatedDate"), name
    related = re.search(r"RELATED_LIST = '(\w+)'", js).group(1)
    for lookup in ("Opportunity__c", "Account__c"):
        assert text(fields[lookup], "relationshipName") + "__r" == related
    html = (bundle / "retourInsights.html").read_text(encoding="utf-8")
    assert "lwc:dom" not in html and "innerHTML" not in js  # CRM text is bound as text, never as HTML


def component_labels() -> list[str]:
    js = (DEFAULT / "lwc" / "retourInsights" / "retourInsights.js").read_text(encoding="utf-8")
    return re.findall(r"from '@salesforce/label/c\.(\w+)'", js)


def test_every_label_the_component_uses_exists_in_english_and_has_its_french_translation():
    labels = {text(el, "fullName"): el for el in xml(DEFAULT / "labels" / "CustomLabels.labels-meta.xml")
              .findall("m:labels", NS)}
    french = {text(el, "name"): text(el, "label") for el in xml(DEFAULT / "translations" / "fr.translation-meta.xml")
              .findall("m:customLabels", NS)}
    used = component_labels()
    assert len(used) >= 9 and len(set(used)) == len(used)
    for name in used:
        assert name in labels, f"the component imports c.{name}, missing from labels/CustomLabels.labels-meta.xml"
        english = text(labels[name], "value")
        assert english and text(labels[name], "language") == "en_US", name
        assert len(text(labels[name], "shortDescription") or "") <= 80, name
        assert french.get(name), f"c.{name} has no French translation in translations/fr.translation-meta.xml"
        assert french[name] != english, f"c.{name}: the French translation is the English text"
    assert set(french) <= set(labels), set(french) - set(labels)  # a translation of no label fails the deploy


def test_the_component_has_no_word_for_reps_outside_a_label():
    """Reps read the card in their language: its markup holds bindings and punctuation, never English words."""
    html = (DEFAULT / "lwc" / "retourInsights" / "retourInsights.html").read_text(encoding="utf-8")
    visible = re.sub(r"<!--.*?-->", "", html, flags=re.S)
    visible = re.sub(r"<[^>]+>", " ", visible)
    visible = re.sub(r"\{[\w.]+\}", " ", visible)
    assert re.findall(r"[A-Za-z]{2,}", visible) == []
    tag_attrs = " ".join(re.findall(r"<[^>]+>", html))
    assert not re.search(r"\b(title|label|alternative-text)=\"[^{]", tag_attrs)  # attributes reps read are bound too


def test_the_component_reads_both_languages_and_readers_may_read_every_field_it_reads():
    js = (DEFAULT / "lwc" / "retourInsights" / "retourInsights.js").read_text(encoding="utf-8")
    assert "from '@salesforce/i18n/lang'" in js
    read = set(re.findall(r"'Retour_Insight__c\.(\w+)'", js))
    assert {"Insight_En__c", "Insight_Fr__c", "Title_En__c", "Title_Fr__c"} <= read
    perms = xml(DEFAULT / "permissionsets" / "Retour_Insights_Reader.permissionset-meta.xml")
    readable = {text(fp, "field") for fp in perms.findall("m:fieldPermissions", NS) if text(fp, "readable") == "true"}
    custom = {f"Retour_Insight__c.{name}" for name in read if name.endswith("__c")}
    assert custom <= readable, custom - readable


def test_the_deploy_readme_says_french_must_be_enabled_in_the_org_for_reps_to_read_french():
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "Translation Workbench" in readme and "French" in readme
    assert "translations/fr.translation-meta.xml" in readme and "labels/CustomLabels.labels-meta.xml" in readme


def test_the_sfdx_project_points_at_force_app():
    project = json.loads((ROOT / "sfdx-project.json").read_text(encoding="utf-8"))
    assert [d["path"] for d in project["packageDirectories"]] == ["force-app"]
    assert (ROOT / project["packageDirectories"][0]["path"]).is_dir()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "sf project deploy start --source-dir force-app -o" in readme
