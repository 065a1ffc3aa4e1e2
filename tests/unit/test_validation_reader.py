"""The Parquet reader reads footers and a bounded sample, never whole files: bytes read do not grow with size."""

from __future__ import annotations

from pathlib import Path

import pytest

from functions.integrations.parquet import RangeFile, inspect_parquet
from functions.integrations.storage import LocalStorage
from functions.logic.validation import validate_drop
from functions.models.report import Severity, ValidationOptions
from tests.fixtures.drops import DropBuilder, codes, good_rows, one, vector_table, write_large_parquet

MiB = 1024 * 1024


class CountingStorage(LocalStorage):
    """Local storage that records every ranged read (to check the reader never re-reads bytes)."""

    def __init__(self) -> None:
        self.reads: list[tuple[int, int]] = []

    def read_range(self, uri: str, start: int, length: int) -> bytes:
        data = super().read_range(uri, start, length)
        self.reads.append((start, len(data)))
        return data


def test_range_file_serves_repeated_reads_from_its_cache(tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    storage = CountingStorage()
    reader = RangeFile(storage, str(path), path.stat().st_size, budget=MiB)

    first = reader.read_at(1000, 10)
    again = reader.read_at(1005, 10)
    reader.seek(-4, 2)
    tail = reader.read()

    assert first == bytes(range(256))[1000 % 256 :][:10]
    assert again == (bytes(range(256)) * 2)[1005 % 256 :][:10]
    assert tail == bytes(range(252, 256))
    assert len(storage.reads) == 2  # one read-ahead block + the tail
    assert reader.bytes_read == sum(n for _, n in storage.reads)


def test_range_file_refuses_to_read_past_its_budget(tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(b"x" * (2 * MiB))
    reader = RangeFile(LocalStorage(), str(path), 2 * MiB, budget=512 * 1024)
    reader.read_at(0, 100)
    with pytest.raises(OSError, match="budget"):
        reader.read_at(MiB, 600 * 1024)
    assert reader.budget_hit
    assert reader.bytes_read <= 512 * 1024


def test_footer_and_sample_are_read_without_reading_the_file(tmp_path: Path) -> None:
    drop = DropBuilder(tmp_path / "d")
    small = drop.add("ns/small.parquet", vector_table(300, 768))  # ~1 MiB
    large = drop.add("ns/large.parquet", vector_table(20_000, 768, start=300))  # ~60 MiB
    storage = CountingStorage()

    results = {
        p.name: inspect_parquet(
            storage,
            str(p),
            p.stat().st_size,
            sample_rows=64,
            sample_columns=("id", "values", "metadata"),
            budget_bytes=4 * MiB,
        )
        for p in (small, large)
    }

    assert large.stat().st_size > 50 * MiB
    assert results["large.parquet"].num_rows == 20_000
    assert len(results["large.parquet"].sample or []) == 64
    assert results["large.parquet"].bytes_read < 4 * MiB
    assert results["large.parquet"].bytes_read <= 3 * max(results["small.parquet"].bytes_read, MiB)
    assert results["small.parquet"].bytes_read <= small.stat().st_size  # never the same byte twice


def test_a_column_with_a_huge_first_page_is_skipped_alone(drop: DropBuilder) -> None:
    rows = good_rows(2000, dim=256)
    rows[5]["id"] = None
    rows[7]["values"] = [0.0] * 256  # in the skipped column: cannot be found
    drop.add("ns/f.parquet", rows, data_page_size=64 * MiB, compression="none", use_dictionary=False)
    options = ValidationOptions(sample_budget_bytes=256 * 1024)

    report = validate_drop(drop.uri, storage=LocalStorage(), options=options)

    skipped = one(report, "file.sample_skipped")
    assert (skipped.file, skipped.column, skipped.severity) == ("ns/f.parquet", "values", Severity.INFO)
    assert "budget" in skipped.message
    assert one(report, "row.missing_id").row == 5  # the other columns were still checked
    assert "row.zero_vector" not in codes(report)
    assert report.bytes_read <= 256 * 1024
    assert report.totals.rows == 2000  # the footer was read


def test_a_footer_larger_than_the_budget_is_a_warning(drop: DropBuilder) -> None:
    drop.add("ns/f.parquet", good_rows(3000, dim=2), row_group_size=1)  # 3000 row groups: a ~1 MiB footer
    options = ValidationOptions(sample_budget_bytes=64 * 1024)

    report = validate_drop(drop.uri, storage=LocalStorage(), options=options)

    problem = one(report, "file.footer_too_large")
    assert (problem.file, problem.severity) == ("ns/f.parquet", Severity.WARNING)
    assert report.bytes_read <= 64 * 1024
    assert report.valid
    assert validate_drop(drop.uri, storage=LocalStorage()).problems == []  # the default budget reads it


@pytest.mark.slow
def test_a_one_gigabyte_file_costs_less_than_4_mib(tmp_path: Path) -> None:
    drop = DropBuilder(tmp_path / "d")
    path = drop.path("ns/big.parquet")
    try:
        size = write_large_parquet(path, 1024**3, dim=768)
        report = validate_drop(drop.uri, storage=LocalStorage(), dimension=768)
    finally:
        path.unlink(missing_ok=True)  # do not leave 1 GB behind in pytest's kept tmp dirs

    assert size >= 1024**3
    assert report.problems == []
    assert report.totals.bytes == size
    assert report.totals.rows > 50_000
    assert report.bytes_read < 4 * MiB


def test_the_smallest_budget_still_checks_rows_of_a_normal_file(drop: DropBuilder) -> None:
    rows = good_rows(2000, dim=16)
    rows[3]["metadata"] = "[]"
    drop.add("ns/f.parquet", rows)
    options = ValidationOptions(sample_budget_bytes=64 * 1024)

    report = validate_drop(drop.uri, storage=LocalStorage(), options=options)

    assert drop.path("ns/f.parquet").stat().st_size > 64 * 1024
    assert one(report, "row.metadata_not_object").row == 3
    assert report.bytes_read <= 64 * 1024
