"""A local Salesforce-compatible org for demos, integration tests and benchmarks.

``DemoOrg`` seeds a fictional vendor's CRM (deterministically, scaled by ``scale``) into a SQLite file
and serves the part of Salesforce's REST API that Retour uses over TLS on 127.0.0.1.
"""

from .org import DemoOrg

__all__ = ["DemoOrg"]
