"""Fixtures for the demo org's tests: a shared read-only org and fresh orgs for tests that write."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connector.demo_org import DemoOrg
from connector.demo_org.testing import SEEDED_DAY, Clock, salesforce, shared_cache_dir

SMALL = 0.25


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory):
    """Certificate and JWT keys made once per session (RSA key generation is the slow part of a start)."""
    return tmp_path_factory.mktemp("demo-org-keys")


@pytest.fixture(scope="session")
def org(tmp_path_factory: pytest.TempPathFactory, keys_dir) -> Iterator[DemoOrg]:
    """A small org shared by read-only tests (its data must not be changed)."""
    demo = DemoOrg(tmp_path_factory.mktemp("demo-org-ro"), scale=SMALL, cache_dir=shared_cache_dir(),
                   keys_dir=keys_dir, clock=Clock(SEEDED_DAY))
    demo.start()
    try:
        yield demo
    finally:
        demo.stop()


@pytest.fixture
def fresh_org(tmp_path, keys_dir) -> Iterator[DemoOrg]:
    """A small org of the test's own (a fresh copy of the cached seed): tests may write to it."""
    demo = DemoOrg(tmp_path, scale=SMALL, cache_dir=shared_cache_dir(), keys_dir=keys_dir, clock=Clock(SEEDED_DAY))
    demo.start()
    try:
        yield demo
    finally:
        demo.stop()


@pytest.fixture(scope="session")
def sf(org):
    return salesforce(org)


@pytest.fixture
def fresh_sf(fresh_org):
    return salesforce(fresh_org)
