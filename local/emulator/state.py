"""The emulator's state: indexes, their records and their bulk imports, and the worker that runs each import."""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local.emulator.clock import EmulatedClock
from local.emulator.faults import FaultInjector
from local.emulator.parquet_rows import FileRejected, read_rows
from local.emulator.source import FileSource, S3Settings, SourceError, open_source
from local.emulator.store import Index, Record, StoreError

log = logging.getLogger("autoimport.emulator")

# Realistic pacing in emulated seconds (multiplied by the time scale): over ten minutes end to end.
PENDING_SECONDS = 30.0
PROCESSING_SECONDS = 420.0
INDEXING_SECONDS = 180.0

BULK_API_VERSIONS = ("2024-10", "2025-01", "2025-04", "2025-10", "2026-01.alpha", "2026-04", "2026-07")
DEFAULT_API_VERSION = "2025-10"


@dataclass(frozen=True)
class EmulatorConfig:
    api_key: str = "emulator-key"
    s3: S3Settings = field(default_factory=S3Settings)
    time_scale: float = 0.001
    allow_extra_columns: bool = (
        False  # S4 guide: extra columns fail the import (the 2026 legacy page says ignored)
    )
    nested_files: bool = True  # files deeper than <namespace>/ belong to that namespace
    max_namespaces: int = 10_000  # per-import limits (Pinecone operation limits, 2026)
    max_files: int = 100_000
    max_file_bytes: int = 10 * 1024**3


@dataclass
class ImportJob:
    id: str
    index_name: str
    uri: str
    error_mode: str
    integration_id: str | None
    created_at: str
    status: str = "Pending"
    percent_complete: float = 0.0
    records_imported: int = 0
    records_skipped: int = 0
    finished_at: str | None = None
    error: str | None = None
    validation_ran: bool = False
    stop: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def running(self) -> bool:
        return self.status in ("Pending", "InProgress")

    def to_wire(self, api_version: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "uri": self.uri,
            "status": self.status,
            "createdAt": self.created_at,
            "percentComplete": self.percent_complete,
            "recordsImported": self.records_imported,
        }
        if self.finished_at is not None:
            out["finishedAt"] = self.finished_at
        if self.error is not None:
            out["error"] = self.error
        if api_version == "2026-07" and self.validation_ran:
            out["validationResult"] = {
                "importSuccesses": self.records_imported,
                "importErrors": self.records_skipped,
            }
        return out


class ImportFailed(Exception):
    """Ends an import as Failed with this (Pinecone-worded) message."""


class EmulatorState:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.clock = EmulatedClock(config.time_scale)
        self.faults = FaultInjector()
        self.indexes: dict[str, Index] = {}
        self.imports: dict[str, dict[str, ImportJob]] = {}
        self._ids = itertools.count(1)
        self._workers: list[threading.Thread] = []
        self.requests: deque[dict[str, Any]] = deque(
            maxlen=2000
        )  # recent requests, for tests and the admin API
        self.source_factory: Callable[[str, S3Settings], FileSource] = open_source

    # -- indexes -------------------------------------------------------------------------------------------
    def add_index(self, index: Index) -> Index:
        with self.lock:
            if index.name in self.indexes:
                raise StoreError(f"Resource {index.name} already exists", status=409, code=6)
            self.indexes[index.name] = index
            self.imports.setdefault(index.name, {})
            return index

    def get_index(self, name: str) -> Index:
        with self.lock:
            index = self.indexes.get(name)
        if index is None:
            raise StoreError(f"Resource {name} not found", status=404, code=5)
        return index

    def delete_index(self, name: str) -> None:
        with self.lock:
            self.get_index(name)
            del self.indexes[name]
            for job in self.imports.pop(name, {}).values():
                job.stop.set()

    def reset(self, *, drop_indexes: bool = False) -> None:
        """Forget every import and record and clear faults; indexes stay (empty) unless ``drop_indexes``."""
        with self.lock:
            for jobs in self.imports.values():
                for job in jobs.values():
                    job.stop.set()
            if drop_indexes:
                self.indexes.clear()
            self.imports = {name: {} for name in self.indexes}
            for index in self.indexes.values():
                index.namespaces.clear()
            self.faults.clear()
            self.requests.clear()

    def shutdown(self) -> None:
        with self.lock:
            for jobs in self.imports.values():
                for job in jobs.values():
                    job.stop.set()
            workers = list(self._workers)
        self.clock.wake()
        for worker in workers:
            worker.join(timeout=5)

    # -- imports -------------------------------------------------------------------------------------------
    def start_import(
        self, index_name: str, uri: str, error_mode: str, integration_id: str | None
    ) -> ImportJob:
        with self.lock:
            self.get_index(index_name)
            job = ImportJob(
                id=str(next(self._ids)),
                index_name=index_name,
                uri=uri,
                error_mode=error_mode,
                integration_id=integration_id,
                created_at=self.clock.timestamp(),
            )
            self.imports[index_name][job.id] = job
            worker = threading.Thread(target=self._run, args=(job,), name=f"import-{job.id}", daemon=True)
            self._workers = [w for w in self._workers if w.is_alive()]
            self._workers.append(worker)
        log.info("import %s started on index %s: %s (errorMode %s)", job.id, index_name, uri, error_mode)
        worker.start()
        return job

    def get_import(self, index_name: str, import_id: str) -> ImportJob:
        with self.lock:
            self.get_index(index_name)
            job = self.imports[index_name].get(import_id)
        if job is None:
            raise StoreError(f"Import {import_id} not found", status=404, code=5)
        return job

    def list_imports(self, index_name: str) -> list[ImportJob]:
        """Newest first."""
        with self.lock:
            self.get_index(index_name)
            return sorted(self.imports[index_name].values(), key=lambda j: int(j.id), reverse=True)

    def cancel_import(self, index_name: str, import_id: str) -> None:
        with self.lock:
            job = self.get_import(index_name, import_id)
            if not job.running:
                return
            job.status = "Cancelled"
            job.finished_at = self.clock.timestamp()
            job.stop.set()
        log.info("import %s cancelled", import_id)

    # -- the worker ----------------------------------------------------------------------------------------
    def _run(self, job: ImportJob) -> None:
        try:
            self._process(job)
        except ImportFailed as exc:
            self._finish(job, "Failed", str(exc))
        except Exception as exc:  # the emulator must never leave an import hanging
            log.exception("import %s crashed", job.id)
            self._finish(job, "Failed", f"Internal error in the emulator: {type(exc).__name__}: {exc}")

    def _finish(self, job: ImportJob, status: str, error: str | None = None) -> None:
        with self.lock:
            if not job.running:
                return
            job.status = status
            job.error = error
            job.finished_at = self.clock.timestamp()
        log.info("import %s %s%s", job.id, status, f": {error}" if error else "")

    def _still_running(self, job: ImportJob) -> bool:
        with self.lock:
            return job.running and job.index_name in self.indexes

    def _process(self, job: ImportJob) -> None:
        start = self.clock.now()
        if not self.clock.wait_until(start + PENDING_SECONDS, job.stop):
            return
        with self.lock:
            if not job.running:
                return
            job.status = "InProgress"
            index = self.get_index(job.index_name)
        source = self._open(job)
        plan = self._plan(job, source, index)
        job.validation_ran = True
        # The schedule hangs off the start time (not off "now"), so emulated time moved by hand lands exactly.
        per_file = PROCESSING_SECONDS / len(plan)
        began = start + PENDING_SECONDS
        seen: dict[str, dict[tuple[Any, ...], str]] = {}
        accepted_per_namespace: dict[str, int] = {}
        for position, (namespace, relative) in enumerate(plan, start=1):
            if not self.clock.wait_until(began + per_file * position, job.stop):
                return
            records, skipped = self._read_file(job, source, index, namespace, relative, seen)
            with self.lock:
                if not self._still_running(job):
                    return
                index.upsert(namespace, records)
                job.records_imported += len(records)
                job.records_skipped += skipped
                job.percent_complete = round(100.0 * position / len(plan), 1)
            accepted_per_namespace[namespace] = accepted_per_namespace.get(namespace, 0) + len(records)
            last_of_namespace = position == len(plan) or plan[position][0] != namespace
            if last_of_namespace and accepted_per_namespace[namespace] == 0:
                raise ImportFailed(
                    f"User error: No vectors added, all rows were skipped for namespace: {namespace}"
                )
        # Indexing: InProgress at 100% until the records would be queryable in Pinecone.
        if not self.clock.wait_until(began + PROCESSING_SECONDS + INDEXING_SECONDS, job.stop):
            return
        self._finish(job, "Completed")

    def _open(self, job: ImportJob) -> FileSource:
        try:
            return self.source_factory(job.uri, self.config.s3)
        except SourceError as exc:
            raise ImportFailed(f"User error: {exc}") from exc

    def _plan(self, job: ImportJob, source: FileSource, index: Index) -> list[tuple[str, str]]:
        """Check the layout (Pinecone's rules, reference §2.2) and return (namespace, file) in processing order."""
        try:
            single = source.is_single_file()
            files = [] if single else source.list_files()
        except SourceError as exc:
            raise ImportFailed(f"User error: {exc}") from exc
        if single:
            raise ImportFailed(
                f'User error: "{job.uri}": It looks like you specified a complete path to a parquet file as the '
                "URI prefix. The URI must name the directory that holds one subdirectory per namespace."
            )
        parquet = [f.relative for f in files if f.relative.endswith(".parquet")]
        if not parquet:
            raise ImportFailed(
                f'User error: No Parquet files found under "{job.uri}". Put the files in '
                "<uri>/<namespace>/*.parquet."
            )
        plan: list[tuple[str, str]] = []
        for relative in parquet:
            parts = relative.split("/")
            if len(parts) == 1:
                raise ImportFailed(
                    f'User error: "{source.object_name(relative)}": No namespace detected. Each file should be '
                    "nested under a subdirectory of the URI prefix; the subdirectory name is the namespace."
                )
            if len(parts) > 2 and not self.config.nested_files:
                continue
            plan.append((parts[0], relative))
        if not plan:
            raise ImportFailed(f'User error: No Parquet files found under "{job.uri}".')
        plan.sort()
        self._check_limits(plan, {f.relative: f.size for f in files})
        with self.lock:
            for namespace in sorted({ns for ns, _ in plan}):
                if index.namespaces.get(namespace):
                    raise ImportFailed(
                        f'User error: The namespace "{namespace}" already exists. Imports are only allowed into '
                        "nonexistent namespaces."
                    )
        return plan

    def _check_limits(self, plan: list[tuple[str, str]], sizes: dict[str, int]) -> None:
        config = self.config
        namespaces = len({ns for ns, _ in plan})
        if namespaces > config.max_namespaces:
            raise ImportFailed(
                f"User error: Exceeds system limit: {namespaces} namespaces in one import "
                f"(the limit is {config.max_namespaces})"
            )
        if len(plan) > config.max_files:
            raise ImportFailed(
                f"User error: Exceeds system limit: {len(plan)} files in one import (the limit is {config.max_files})"
            )
        for _, relative in plan:
            if sizes.get(relative, 0) > config.max_file_bytes:
                raise ImportFailed(
                    f'User error: Exceeds system limit: file "/{relative}" is {sizes[relative]} bytes '
                    f"(the limit is {config.max_file_bytes} bytes per file)"
                )

    def _read_file(
        self,
        job: ImportJob,
        source: FileSource,
        index: Index,
        namespace: str,
        relative: str,
        seen: dict[str, dict[tuple[Any, ...], str]],
    ) -> tuple[list[Record], int]:
        shown = source.display(relative)
        try:
            data = source.read(relative)
            rows = list(read_rows(data, index, allow_extra_columns=self.config.allow_extra_columns))
        except SourceError as exc:
            raise ImportFailed(f"User error: {exc}") from exc
        except FileRejected as exc:
            raise ImportFailed(f'User error: error reading file "{shown}": {exc}') from exc
        records: list[Record] = []
        skipped = 0
        known = seen.setdefault(namespace, {})
        for result in rows:
            problem = result.problem
            record = result.record
            if record is not None:
                key = (record.values, record.sparse)
                first = known.get(key)
                if first is not None:
                    problem = f'duplicate record: its vector values are identical to record "{first}"'
                else:
                    known[key] = record.id
            if problem is not None:
                if job.error_mode == "abort":
                    raise ImportFailed(
                        f'User error: error reading record (file "{shown}", row {result.row}): {problem}'
                    )
                skipped += 1
                continue
            assert record is not None
            records.append(record)
        return records, skipped
