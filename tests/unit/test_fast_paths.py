"""The fast paths the benchmarks (bench/) asked for: one request per small file, a cheap finiteness check, and
handlers whose cold start never loads pyarrow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from functions.integrations.parquet import WHOLE_FILE_BYTES, inspect_parquet
from functions.integrations.storage import LocalStorage
from functions.logic.validation import validate_drop
from functions.logic.validation.rows import all_finite
from tests.fixtures.drops import DropBuilder, codes, good_rows

REPO = Path(__file__).resolve().parents[2]
SAMPLE_COLUMNS = ("id", "values", "sparse_values", "metadata")


class CountingStorage(LocalStorage):
    def __init__(self) -> None:
        self.reads: list[tuple[int, int]] = []

    def read_range(self, uri: str, start: int, length: int) -> bytes:
        data = super().read_range(uri, start, length)
        self.reads.append((start, len(data)))
        return data


def test_a_small_file_is_read_whole_in_one_request(tmp_path: Path) -> None:
    path = DropBuilder(tmp_path / "d").add("ns/a.parquet", good_rows(300, dim=128))
    size = path.stat().st_size
    assert 64 * 1024 < size <= WHOLE_FILE_BYTES
    storage = CountingStorage()

    info = inspect_parquet(
        storage, str(path), size, sample_rows=64, sample_columns=SAMPLE_COLUMNS, budget_bytes=4 * 1024 * 1024
    )

    assert storage.reads == [(0, size)]
    assert info.bytes_read == size
    assert info.num_rows == 300
    assert info.sample is not None and len(info.sample) == 64


def test_footer_only_inspection_still_reads_only_the_tail(tmp_path: Path) -> None:
    path = DropBuilder(tmp_path / "d").add("ns/a.parquet", good_rows(300, dim=128))
    size = path.stat().st_size
    storage = CountingStorage()

    info = inspect_parquet(
        storage, str(path), size, sample_rows=0, sample_columns=SAMPLE_COLUMNS, budget_bytes=4 * 1024 * 1024
    )

    assert info.num_rows == 300
    assert info.bytes_read == 64 * 1024 < size


def test_a_budget_smaller_than_the_file_is_never_spent_on_the_whole_file(tmp_path: Path) -> None:
    path = DropBuilder(tmp_path / "d").add("ns/a.parquet", good_rows(300, dim=128))
    size = path.stat().st_size
    storage = CountingStorage()

    info = inspect_parquet(
        storage, str(path), size, sample_rows=64, sample_columns=SAMPLE_COLUMNS, budget_bytes=64 * 1024
    )

    assert info.bytes_read <= 64 * 1024
    assert all(length < size for _, length in storage.reads)


def test_planted_row_problems_are_still_found_in_a_file_read_whole(tmp_path: Path) -> None:
    drop = DropBuilder(tmp_path / "d")
    rows = good_rows(300, dim=16)
    rows[4]["values"] = [float("nan")] * 16
    rows[9]["values"] = [0.0] * 16
    drop.add("ns/a.parquet", rows)

    report = validate_drop(drop.uri, storage=LocalStorage())

    assert {"row.non_finite", "row.zero_vector"} <= codes(report)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0.5, -2, True], True),
        ([], True),
        ([1.0, None], False),
        ([float("nan")], False),
        ([float("-inf"), 1.0], False),
        (["1.0"], False),
        ([[1.0]], False),
        ([10**400], False),
    ],
)
def test_all_finite_means_every_value_is_a_finite_number(values: list[object], expected: bool) -> None:
    assert all_finite(values) is expected


def test_poll_cancel_and_finalize_handlers_do_not_import_pyarrow() -> None:
    probe = (
        "import json, sys\n"
        "import functions.handlers.poll_import, functions.handlers.cancel_import, functions.handlers.finalize\n"
        "print(json.dumps(sorted(m for m in ('pyarrow', 'functions.logic.validation') if m in sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
