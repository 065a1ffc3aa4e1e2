"""The CDK app (see infra/README.md)."""

import os

# jsii prints a large banner on Node versions it no longer lists; the CDK works on them all the same.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")
