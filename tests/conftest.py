"""Shared fixtures. Each fixture module under tests/fixtures/ is owned by one concern."""

import os

# Never let a test reach real AWS by accident: dummy credentials unless a fixture sets its own.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "pinecone-autoimport")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "PineconeAutoImport")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

pytest_plugins = [
    "tests.fixtures.infra",
    "tests.fixtures.moto",
    "tests.fixtures.emulator",
    "tests.fixtures.drops",
    "tests.fixtures.local_aws",
    "tests.fixtures.scripted_server",
    "tests.fixtures.pipeline_aws",
    "tests.fixtures.campaigns",
    "tests.fixtures.e2e",
]
