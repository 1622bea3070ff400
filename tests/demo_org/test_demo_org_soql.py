"""The demo org's SOQL subset: what it parses, how it types literals, and what it refuses (never a wrong result)."""

from __future__ import annotations

import datetime as dt

import pytest
from simple_salesforce import format_soql

from connector.demo_org.soql import BoolOp, Compare, Not, SoqlError, compile_query, parse, tokenize


def test_select_with_relationship_fields_filters_order_and_limit_parses_into_its_parts():
    q = parse("SELECT Id, Account.Name, Amount FROM Opportunity WHERE StageName = 'Closed Lost' "
              "AND (Amount > 1000 OR NOT IsWon = true) ORDER BY CloseDate DESC NULLS LAST, Id LIMIT 10")
    assert [p.text for p in q.fields] == ["Id", "Account.Name", "Amount"]
    assert q.sobject == "Opportunity" and q.limit == 10
    assert isinstance(q.where, BoolOp) and q.where.op == "AND"
    inner = q.where.items[1]
    assert isinstance(inner, BoolOp) and inner.op == "OR" and isinstance(inner.items[1], Not)
    assert q.order[0].descending and q.order[0].nulls_last is True
    assert not q.order[1].descending


def test_keywords_are_case_insensitive_and_in_lists_parse():
    q = parse("select id from task where whatid in ('0067R0000000001QAA','0067R0000000002QAA') "
              "and status not in ('Completed')")
    first, second = q.where.items
    assert isinstance(first, Compare) and first.op == "IN" and len(first.value) == 2
    assert second.op == "NOT IN"


def test_count_query_parses_without_fields():
    q = parse("SELECT COUNT() FROM Opportunity WHERE IsClosed = false")
    assert q.count and q.fields == []


@pytest.mark.parametrize("literal, expected", [
    (r"'O\'Brien'", "O'Brien"),
    (r"'line\nbreak'", "line\nbreak"),
    (r"'back\\slash'", "back\\slash"),
    (r"'tab\there'", "tab\there"),
    (r"'quote\"d'", 'quote"d'),
])
def test_string_literal_escapes_decode_like_salesforce(literal, expected):
    token = tokenize(f"SELECT Id FROM Account WHERE Name = {literal}")[-2]
    assert token.kind == "string" and token.value == expected


def test_like_pattern_keeps_escaped_wildcards_literal():
    token = tokenize(r"SELECT Id FROM Account WHERE Name LIKE '100\% sure_%'")[-2]
    assert token.like == "100\\% sure_%"


@pytest.mark.parametrize("text", ["2026-01-31T10:00:00Z", "2026-01-31T10:00:00.000+0000", "2026-01-31T11:00:00+01:00",
                                  "2026-01-31T10:00:00+00:00", "2026-01-31T05:00:00.000-05:00"])
def test_datetime_literal_offsets_resolve_to_the_same_instant(text):
    compiled = compile_query(f"SELECT Id FROM Task WHERE SystemModstamp >= {text}", include_deleted=True)
    expected = int(dt.datetime(2026, 1, 31, 10, tzinfo=dt.timezone.utc).timestamp() * 1000)
    assert compiled.params == [expected]


def test_format_soql_datetime_and_strings_are_accepted():
    when = dt.datetime(2026, 3, 1, 8, 30, tzinfo=dt.timezone.utc)
    query = format_soql("SELECT Id FROM Task WHERE SystemModstamp >= {} AND Subject = {}", when, "it's\n\"odd\"")
    compiled = compile_query(query, include_deleted=False)
    assert compiled.params[0] == int(when.timestamp() * 1000)
    assert compiled.params[1] == "it's\n\"odd\""


def test_date_field_takes_a_date_literal():
    compiled = compile_query("SELECT Id FROM Opportunity WHERE CloseDate < 2026-01-31", include_deleted=False)
    assert compiled.params == ["2026-01-31"]


def test_values_are_bound_parameters_never_sql_text():
    compiled = compile_query("SELECT Id FROM Account WHERE Name = 'x\\' OR 1=1 --'", include_deleted=False)
    assert "OR 1=1" not in compiled.where_sql and compiled.params == ["x' OR 1=1 --"]


@pytest.mark.parametrize("query", [
    "SELEC Id FROM Opportunity",
    "SELECT FROM Opportunity",
    "SELECT Id Opportunity",
    "SELECT Id FROM Opportunity WHERE",
    "SELECT Id FROM Opportunity GROUP BY Id",
    "SELECT Id FROM Opportunity LIMIT 10 OFFSET 5",
    "SELECT Id FROM Opportunity WHERE CloseDate = LAST_N_DAYS:30",
    "SELECT Id FROM Opportunity WHERE Name = 'unterminated",
    "SELECT Id FROM Opportunity WHERE Amount > 5 junk",
    "SELECT Id, (SELECT Id FROM Tasks) FROM Opportunity",
    "SELECT Account.Owner.Name FROM Opportunity",
    "SELECT Id FROM Opportunity WHERE Name <> 'x'",
    "SELECT Id FROM Opportunity WHERE Amount IN ()",
])
def test_queries_outside_the_subset_are_malformed(query):
    with pytest.raises(SoqlError) as info:
        compile_query(query, include_deleted=False)
    assert info.value.code == "MALFORMED_QUERY"
    assert "ERROR at Row:1:Column:" in info.value.message


def test_unknown_field_is_invalid_field_with_salesforce_message():
    with pytest.raises(SoqlError) as info:
        compile_query("SELECT Id, Nope__c FROM Opportunity", include_deleted=False)
    assert info.value.code == "INVALID_FIELD"
    assert "No such column 'Nope__c' on entity 'Opportunity'" in info.value.message
    assert "\nSELECT Id, Nope__c FROM Opportunity\n           ^\nERROR at Row:1:Column:12\n" in info.value.message


def test_unknown_relationship_and_unknown_object_are_refused():
    with pytest.raises(SoqlError) as info:
        compile_query("SELECT Nobody.Name FROM Opportunity", include_deleted=False)
    assert info.value.code == "INVALID_FIELD"
    with pytest.raises(SoqlError) as info:
        compile_query("SELECT Id FROM Widget__c", include_deleted=False)
    assert info.value.code == "INVALID_TYPE"


@pytest.mark.parametrize("query, fragment", [
    ("SELECT Id FROM Task WHERE SystemModstamp >= 2026-01-01", "must be of type dateTime"),
    ("SELECT Id FROM Task WHERE SystemModstamp >= '2026-01-01T00:00:00Z'", "must be of type dateTime"),
    ("SELECT Id FROM Opportunity WHERE CloseDate = 2026-01-01T00:00:00Z", "must be of type date"),
    ("SELECT Id FROM Opportunity WHERE Amount > '5'", "must be of type currency"),
    ("SELECT Id FROM Opportunity WHERE IsWon = 'true'", "must be of type boolean"),
    ("SELECT Id FROM Opportunity WHERE Name = 5", "should be enclosed in quotes"),
    ("SELECT Id FROM Opportunity WHERE Description = 'x'", "can not be filtered"),
    ("SELECT Id FROM Opportunity ORDER BY Loss_Reason_Detail__c", "can not be sorted"),
])
def test_literal_of_the_wrong_type_or_unfilterable_field_is_invalid_field(query, fragment):
    with pytest.raises(SoqlError) as info:
        compile_query(query, include_deleted=False)
    assert info.value.code == "INVALID_FIELD" and fragment in info.value.message


def test_query_hides_deleted_rows_and_query_all_does_not():
    assert "IsDeleted" in compile_query("SELECT Id FROM Task", include_deleted=False).where_sql
    assert "IsDeleted" not in compile_query("SELECT Id FROM Task", include_deleted=True).where_sql


def test_two_long_text_fields_are_counted_for_the_page_size():
    compiled = compile_query("SELECT Id, Description, Loss_Reason_Detail__c FROM Opportunity", include_deleted=False)
    assert compiled.long_text_fields == 2
