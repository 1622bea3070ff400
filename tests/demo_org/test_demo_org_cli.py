"""`serve_org` (behind `retour demo --org-only`) and the settings the demo org hands to Retour."""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from connector.demo_org.testing import salesforce
from retour.config import load_settings

pytestmark = pytest.mark.demo_org


def test_env_is_a_valid_retour_configuration_for_the_jwt_flow(org):
    settings = load_settings(environ=org.env())
    assert settings.salesforce.auth == "jwt"
    assert settings.salesforce.login_url == settings.salesforce.instance_url == org.base_url
    assert settings.salesforce.consumer_key == org.consumer_key and settings.salesforce.username == org.username
    assert settings.salesforce.private_key_file == str(org.private_key_file)
    assert settings.salesforce.ca_bundle == str(org.ca_bundle)
    assert (settings.mapping.competitor, settings.mapping.region, settings.mapping.segment) == (
        "Competitor__c", "Region__c", "Segment__c")
    [extra] = settings.mapping.extra
    assert (extra.name, extra.field, extra.kind) == ("speaks_basque", "Speaks_Basque__c", "boolean")
    assert "RETOUR_SALESFORCE_CONSUMER_SECRET" not in org.env()


def test_serve_org_prints_shell_exports_and_serves_until_interrupted(tmp_path):
    code = ("import sys; from connector.demo_org.cli import serve_org; "
            "serve_org(['--data-dir', sys.argv[1], '--scale', '0.02'])")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        while len(lines) < 14:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            lines.append(line.rstrip("\n"))
        env = {}
        for line in lines:
            assert line.startswith("export ")
            name, _, value = line[len("export "):].partition("=")
            env[name] = shlex.split(value)[0]
        settings = load_settings(environ=env)
        # Everything a client needs, rebuilt from the printed settings only.
        printed = SimpleNamespace(base_url=settings.salesforce.login_url, ca_bundle=settings.salesforce.ca_bundle,
                                  consumer_key=settings.salesforce.consumer_key, username=settings.salesforce.username,
                                  private_key_file=Path(settings.salesforce.private_key_file))
        sf = salesforce(printed)
        assert sf.query("SELECT COUNT() FROM Opportunity")["totalSize"] > 0
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdout.close()
            proc.stderr.close()
    assert proc.returncode == 0


def test_env_paths_are_absolute_so_another_shell_can_use_them(tmp_path, monkeypatch):
    from connector.demo_org import DemoOrg
    monkeypatch.chdir(tmp_path)
    org = DemoOrg(Path("relative-data"), scale=0.05)
    org.start()
    try:
        env = org.env()
    finally:
        org.stop()
    for name in ("RETOUR_SALESFORCE_PRIVATE_KEY_FILE", "RETOUR_SALESFORCE_CA_BUNDLE"):
        assert Path(env[name]).is_absolute(), (name, env[name])
