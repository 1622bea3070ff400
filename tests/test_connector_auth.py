"""Logging in where Salesforce serves each flow: client credentials on My Domain only, the JWT audience of a My Domain."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator

import pytest
import requests
import responses
from click.testing import CliRunner

from connector.auth import authenticate, jwt_assertion, jwt_audience
from connector.demo_org import DemoOrg
from connector.demo_org.testing import http_session, seeded_org
from connector.errors import AuthFailed
from retour.cli import _register, cli
from retour.config import ConfigError, load_settings

_register()
MY_DOMAIN_HINT = "needs the org's My Domain URL as login_url (https://<domain>.my.salesforce.com"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@pytest.fixture(scope="module")
def org(tmp_path_factory) -> Iterator[DemoOrg]:
    with seeded_org(tmp_path_factory.mktemp("demo-org-auth"), scale=0.05) as demo:
        yield demo


def cc_settings(tmp_path, login_url: str | None = None):
    values = {"auth": "client_credentials", "consumer_key": "3MVG9KEY", "consumer_secret": "TOPSECRET123"}
    if login_url is not None:
        values["login_url"] = login_url
    return load_settings({"data_dir": str(tmp_path), "salesforce": values}, environ={})


@pytest.mark.parametrize("login_url", [None, "https://login.salesforce.com", "https://test.salesforce.com/", "test",
                                       "login"])
def test_client_credentials_on_a_login_server_is_refused_by_the_configuration(tmp_path, login_url):
    with pytest.raises(ConfigError) as info:
        cc_settings(tmp_path, login_url)
    assert MY_DOMAIN_HINT in str(info.value) and "request not supported on this domain" in str(info.value)


@pytest.mark.parametrize("login_url", ["https://acme.my.salesforce.com", "acme--uat.sandbox.my"])
def test_client_credentials_on_my_domain_and_jwt_on_the_login_server_are_accepted(tmp_path, login_url):
    assert cc_settings(tmp_path, login_url).salesforce.login_url == login_url
    jwt = load_settings({"data_dir": str(tmp_path), "salesforce": {"auth": "jwt", "login_url": "login"}}, environ={})
    assert jwt.salesforce.auth == "jwt"


def test_retour_check_says_to_use_the_my_domain_url(tmp_path):
    env = {k: None for k in os.environ if k.startswith("RETOUR_")}
    env.update({"RETOUR_DATA_DIR": str(tmp_path / "data"), "RETOUR_SALESFORCE_AUTH": "client_credentials",
                "RETOUR_SALESFORCE_CONSUMER_KEY": "k", "RETOUR_SALESFORCE_CONSUMER_SECRET": "s"})
    result = CliRunner().invoke(cli, ["check"], env=env)
    assert result.exit_code == 2
    assert MY_DOMAIN_HINT in " ".join(result.output.split())


@responses.activate
def test_settings_built_in_code_are_refused_before_any_call(tmp_path):
    good = cc_settings(tmp_path, "https://acme.my.salesforce.com").salesforce
    bad = dataclasses.replace(good, login_url="https://login.salesforce.com")
    with pytest.raises(AuthFailed) as info:
        authenticate(bad, requests.Session())
    assert MY_DOMAIN_HINT in info.value.message and "TOPSECRET123" not in info.value.message
    assert len(responses.calls) == 0


@responses.activate
def test_the_domain_refusal_from_the_token_endpoint_says_my_domain_not_the_jwt_hint(tmp_path):
    """A login URL Retour cannot recognise (a proxy in front of login.salesforce.com): Salesforce's answer decides."""
    sf = dataclasses.replace(cc_settings(tmp_path, "https://acme.my.salesforce.com").salesforce,
                             login_url="https://sso-proxy.acme.example")
    responses.post("https://sso-proxy.acme.example/services/oauth2/token", status=400,
                   json={"error": "invalid_grant", "error_description": "request not supported on this domain"})
    with pytest.raises(AuthFailed) as info:
        authenticate(sf, requests.Session())
    message = info.value.message
    assert "request not supported on this domain" in message and "My Domain" in message
    assert "private_key_file" not in message and "pre-authorized" not in message  # the JWT hint it used to give
    assert info.value.code == "invalid_grant" and info.value.status == 400


def test_client_credentials_against_the_demo_org_login_host_and_my_domain(org, tmp_path):
    with org.fault("cc-my-domain-only"):
        port = org.base_url.rsplit(":", 1)[1]
        env = {**org.env(), "RETOUR_SALESFORCE_AUTH": "client_credentials",
               "RETOUR_SALESFORCE_CONSUMER_SECRET": org.consumer_secret}
        login_host = load_settings({"data_dir": str(tmp_path)},
                                   environ={**env, "RETOUR_SALESFORCE_LOGIN_URL": f"https://localhost:{port}"})
        with pytest.raises(AuthFailed) as info:
            authenticate(login_host.salesforce, http_session(org))
        token = authenticate(load_settings({"data_dir": str(tmp_path)}, environ=env).salesforce, http_session(org))
    assert "request not supported on this domain" in info.value.message and "My Domain" in info.value.message
    assert token.instance_url == org.base_url


def test_the_jwt_audience_retour_sends_for_a_my_domain_is_what_the_org_accepts(org, tmp_path):
    key = org.private_key_file.read_text()
    session = http_session(org)

    def post(audience: str) -> requests.Response:
        return session.post(f"{org.base_url}/services/oauth2/token", timeout=30, data={
            "grant_type": JWT_GRANT, "assertion": jwt_assertion(org.consumer_key, org.username, audience, key)})

    assert jwt_audience("https://acme.my.salesforce.com") == "https://login.salesforce.com"
    assert jwt_audience("https://acme--uat.sandbox.my.salesforce.com") == "https://test.salesforce.com"
    with org.fault("jwt-login-audience"):
        accepted = post(jwt_audience("https://acme.my.salesforce.com"))
        with pytest.raises(AuthFailed) as info:  # the org's own URL as audience, as for a login URL Retour can't map
            authenticate(load_settings({"data_dir": str(tmp_path)}, environ=org.env()).salesforce, session)
    assert accepted.status_code == 200 and "access_token" in accepted.json()
    assert "audience is invalid" in info.value.message and "https://login.salesforce.com" in info.value.message
