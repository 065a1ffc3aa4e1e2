"""Property: whatever bytes sit in a .parquet file, validate_drop reports (never crashes) and names the file."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.integrations.storage import LocalStorage
from functions.logic.validation import CODES, FILE_LEVEL_PREFIXES, validate_drop
from functions.models.report import ValidationOptions
from tests.fixtures.drops import good_rows, table_from_rows

FILE = "ns/data.parquet"


def _valid_parquet() -> bytes:
    sink = io.BytesIO()
    pq.write_table(table_from_rows(good_rows(20)), sink)
    return sink.getvalue()


VALID = _valid_parquet()


@st.composite
def parquet_like(draw: st.DrawFn) -> bytes:
    """Garbage, garbage framed by PAR1 magic with a plausible footer length, or a valid file with bytes flipped."""
    kind = draw(st.sampled_from(["garbage", "framed", "mutated", "truncated"]))
    if kind == "garbage":
        return draw(st.binary(max_size=2048))
    if kind == "framed":
        body = draw(st.binary(max_size=1024))
        footer_len = draw(st.integers(min_value=0, max_value=len(body) + 16))
        return b"PAR1" + body + footer_len.to_bytes(4, "little") + b"PAR1"
    if kind == "truncated":
        return VALID[: draw(st.integers(min_value=0, max_value=len(VALID)))]
    data = bytearray(VALID)
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        position = draw(st.integers(min_value=0, max_value=len(data) - 1))
        data[position] = draw(st.integers(min_value=0, max_value=255))
    return bytes(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=parquet_like())
def test_any_bytes_never_crash_and_file_problems_name_the_file(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "drop"
        (root / "ns").mkdir(parents=True)
        (root / FILE).write_bytes(content)

        report = validate_drop(
            str(root), storage=LocalStorage(), options=ValidationOptions(sample_budget_bytes=64 * 1024)
        )

    assert report.bytes_read <= 64 * 1024
    for problem in report.problems:
        assert problem.code in CODES
        if problem.code.startswith(FILE_LEVEL_PREFIXES):
            assert problem.file == FILE, problem
    if content == VALID:
        assert report.valid
