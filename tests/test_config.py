import datetime as dt
from pathlib import Path

import pytest

from retour.cli import starter_config
from retour.config import ConfigError, load_settings


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
    ({"RETOUR_SYNC_API_BUDGET_SHARE": "1.5"}, "api_budget_share must be between 0 and 1"),
    ({"RETOUR_SALESFORCE_AUTH": "oauth"}, "auth is 'oauth'; use one of: jwt, client_credentials"),
    ({"RETOUR_THEMES_GRANULARITY": "3"}, "granularity must be between -1"),
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
