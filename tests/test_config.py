import datetime as dt
from pathlib import Path

import pytest

from retour.cli import starter_config
import dataclasses
import math

from retour.config import _SECTION_TYPES, BOUNDS, ConfigError, load_settings


def test_defaults_put_sqlite_under_the_data_dir(tmp_path):
    s = load_settings({"data_dir": str(tmp_path)}, environ={})
    assert s.effective_database_url == f"sqlite:///{tmp_path.resolve() / 'retour.db'}"
    assert s.sync.api_budget_share == 0.20
    assert s.critical_mass.min_accounts == 5 and s.critical_mass.min_revenue == 100_000


def test_environment_overrides_file_and_is_typed(tmp_path):
    cfg = tmp_path / "r.toml"
    cfg.write_text('[sync]\nbulk_threshold = 500\nlookback_seconds = 60\n[push]\nquiet_dates = ["2026-12-25"]\n')
    s = load_settings(environ={"RETOUR_CONFIG": str(cfg), "RETOUR_SYNC_BULK_THRESHOLD": "900",
                               "RETOUR_WEB_SECURE_COOKIES": "yes"})
    assert s.sync.bulk_threshold == 900
    assert s.sync.lookback_seconds == 60
    assert s.web.secure_cookies is True
    assert s.push.quiet_dates == (dt.date(2026, 12, 25),)


def test_unknown_environment_variable_is_named_with_a_suggestion():
    with pytest.raises(ConfigError, match="RETOUR_SYNC_BULK_TRESHOLD.*RETOUR_SYNC_BULK_THRESHOLD"):
        load_settings(environ={"RETOUR_SYNC_BULK_TRESHOLD": "5"})


def test_unknown_file_key_names_the_section_and_file(tmp_path):
    cfg = tmp_path / "r.toml"
    cfg.write_text("[themes]\ngranularty = 0.5\n")
    with pytest.raises(ConfigError, match=r"\[themes\] granularty.*granularity"):
        load_settings(environ={"RETOUR_CONFIG": str(cfg)})


@pytest.mark.parametrize("env,message", [
    ({"RETOUR_SYNC_BULK_THRESHOLD": "lots"}, "RETOUR_SYNC_BULK_THRESHOLD.*whole number"),
    ({"RETOUR_SYNC_API_BUDGET_SHARE": "1.5"}, r"api_budget_share \(RETOUR_SYNC_API_BUDGET_SHARE\) is 1.5; allowed: more than 0 and at most 1"),
    ({"RETOUR_SALESFORCE_AUTH": "oauth"}, "auth is 'oauth'; use one of: jwt, client_credentials"),
    ({"RETOUR_THEMES_GRANULARITY": "3"}, "granularity .* is 3.0; allowed: -1 to 1"),
    ({"RETOUR_DATABASE_URL": "retour.db"}, "must be a URL"),
    ({"RETOUR_PUSH_QUIET_DATES": "25/12/2026"}, "YYYY-MM-DD"),
    ({"RETOUR_CONFIG": "/nonexistent/retour.toml"}, "not a file.*retour init"),
])
def test_bad_values_fail_with_the_setting_and_the_fix(env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(environ=env)


def test_broken_toml_names_the_file(tmp_path):
    cfg = tmp_path / "r.toml"
    cfg.write_text("[sync\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(environ={"RETOUR_CONFIG": str(cfg)})


def test_local_fields_are_mapped_from_file_and_environment(tmp_path):
    cfg = tmp_path / "r.toml"
    cfg.write_text('[mapping]\nregion = "Region__c"\n[mapping.extra]\nspeaks_basque = { field = "Speaks_Basque__c", kind = "boolean" }\n')
    s = load_settings(environ={"RETOUR_CONFIG": str(cfg)})
    assert s.mapping.region == "Region__c"
    assert [(f.name, f.field, f.kind) for f in s.mapping.extra] == [("speaks_basque", "Speaks_Basque__c", "boolean")]
    s = load_settings(environ={"RETOUR_MAPPING_EXTRA": "tier=Tier__c:picklist"})
    assert [(f.name, f.field, f.kind) for f in s.mapping.extra] == [("tier", "Tier__c", "picklist")]
    with pytest.raises(ConfigError, match="kind is 'colour'"):
        load_settings(environ={"RETOUR_MAPPING_EXTRA": "tier=Tier__c:colour"})


def test_starter_config_is_valid_toml_that_loads_to_the_defaults(tmp_path):
    cfg = tmp_path / "r.toml"
    cfg.write_text(starter_config())
    assert load_settings(environ={"RETOUR_CONFIG": str(cfg)}) == load_settings(environ={})
    # every setting is listed with its environment name
    assert "RETOUR_SALESFORCE_PRIVATE_KEY_FILE" in starter_config()


def test_every_numeric_setting_has_its_bounds():
    numeric = {(section, f.name) for section, cls in _SECTION_TYPES.items() for f in dataclasses.fields(cls)
               if f.type in ("int", "float", int, float)}
    assert numeric and numeric == set(BOUNDS), numeric ^ set(BOUNDS)


def _just_outside(bound, value_type):
    """Values one step outside the range (and inside: the ends themselves), typed as the setting is."""
    step = 1 if value_type == "int" else 0.001
    below = bound.low if bound.low_open else bound.low - step
    above = None if bound.high is None else bound.high + step
    inside = [bound.low + step if bound.low_open else bound.low] + ([] if bound.high is None else [bound.high])
    return [v for v in (below, above) if v is not None], inside


@pytest.mark.parametrize("section,key", sorted(BOUNDS))
def test_each_setting_out_of_bounds_is_refused_in_one_line_naming_it_its_value_and_its_range(section, key):
    bound = BOUNDS[(section, key)]
    value_type = next(f.type for f in dataclasses.fields(_SECTION_TYPES[section]) if f.name == key)
    outside, inside = _just_outside(bound, value_type)
    env = f"RETOUR_{section.upper()}_{key.upper()}"
    # The two backoffs are also checked together (the longest wait at least the first): keep the other one apart.
    others = {"backoff_base_seconds": {"backoff_max_seconds": 3600}, "backoff_max_seconds": {"backoff_base_seconds": 0}}
    for value in outside:
        value = int(value) if value_type == "int" else float(value)
        with pytest.raises(ConfigError) as caught:
            load_settings({section: {key: value, **others.get(key, {})}}, environ={})
        message = str(caught.value)
        assert "\n" not in message
        assert message.startswith(f"[{section}] {key} ({env}) is {value!r}; allowed: {bound.describe()} ("), message
    for value in inside:
        value = int(value) if value_type == "int" else float(value)
        got = load_settings({section: {key: value, **others.get(key, {})}}, environ={})
        assert getattr(getattr(got, section), key) == value


@pytest.mark.parametrize("env,message", [
    ({"RETOUR_SCHEDULER_SYNC_MINUTES": "0"}, r"\[scheduler\] sync_minutes \(RETOUR_SCHEDULER_SYNC_MINUTES\) is 0; "
                                             r"allowed: 1 to 10080 \(minutes between two syncs\)"),
    ({"RETOUR_WEB_PORT": "99999"}, r"\[web\] port \(RETOUR_WEB_PORT\) is 99999; allowed: 0 to 65535"),
    ({"RETOUR_WEB_PORT": "-1"}, r"port .* is -1; allowed: 0 to 65535"),
    ({"RETOUR_CRITICAL_MASS_WINDOW_DAYS": "0"}, r"window_days .* is 0; allowed: 1 to 3650"),
    ({"RETOUR_CRITICAL_MASS_MIN_REVENUE": "inf"}, r"min_revenue .* is inf; allowed: at least 0"),
    ({"RETOUR_CRITICAL_MASS_HALF_LIFE_DAYS": "nan"}, r"half_life_days .* is nan"),
    ({"RETOUR_PUSH_PER_REP_DAILY_CAP": "-3"}, r"per_rep_daily_cap .* is -3; allowed: at least 0"),
    ({"RETOUR_SYNC_BACKOFF_BASE_SECONDS": "10", "RETOUR_SYNC_BACKOFF_MAX_SECONDS": "5"}, "backoff_max_seconds .* below"),
])
def test_the_probed_settings_are_refused(env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(environ=env)


def test_port_zero_means_any_free_port_and_is_kept():
    assert load_settings({"web": {"port": 0}}, environ={}).web.port == 0
    assert math.isclose(load_settings({"sync": {"api_budget_share": 1}}, environ={}).sync.api_budget_share, 1.0)


def test_the_starter_file_says_each_numeric_settings_range():
    lines = starter_config().splitlines()
    assert any(line.startswith("# sync_minutes = 60") and line.endswith("; 1 to 10080 (minutes between two syncs)")
               for line in lines)
    assert sum("; " in line and "RETOUR_" in line for line in lines) == len(BOUNDS)


def test_a_mapped_field_may_carry_a_french_label_beside_its_label_and_a_blank_or_misspelt_one_is_refused(tmp_path):
    cfg = tmp_path / "r.toml"
    cfg.write_text('[mapping.extra]\nspeaks_basque = { field = "Speaks_Basque__c", kind = "boolean", '
                   'label = "Speaks Basque", label_fr = "Parle basque" }\ntier = { field = "Tier__c" }\n')
    extra = load_settings(environ={"RETOUR_CONFIG": str(cfg)}).mapping.extra
    assert [(f.name, f.label, f.label_fr) for f in extra] == [("speaks_basque", "Speaks Basque", "Parle basque"),
                                                              ("tier", "", "")]
    only_french = {"mapping": {"extra": {"tier": {"field": "Tier__c", "label_fr": "Niveau"}}}}
    assert [(f.label, f.label_fr) for f in load_settings(only_french, environ={}).mapping.extra] == [("", "Niveau")]
    with pytest.raises(ConfigError) as blank:
        load_settings({"mapping": {"extra": {"tier": {"field": "Tier__c", "label_fr": "  "}}}}, environ={})
    assert str(blank.value).startswith("[mapping] extra (RETOUR_MAPPING_EXTRA).tier.label_fr must be a label people "
                                       "read, e.g. label_fr = \"Parle basque\"; got '  '."), str(blank.value)
    with pytest.raises(ConfigError, match=r"tier\.label must be a label people read.*got 3"):
        load_settings({"mapping": {"extra": {"tier": {"field": "Tier__c", "label": 3}}}}, environ={})
    with pytest.raises(ConfigError) as misspelt:
        load_settings({"mapping": {"extra": {"tier": {"field": "Tier__c", "label_french": "Niveau"}}}}, environ={})
    assert "unknown key 'label_french'; allowed: field, kind, label, label_fr. Did you mean 'label_fr'?" in str(
        misspelt.value)
