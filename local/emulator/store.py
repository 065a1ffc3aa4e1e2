"""In-memory indexes: records per namespace, exact nearest-neighbour search and a small metadata filter."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_NAMESPACE = "__default__"
METRICS = ("cosine", "dotproduct", "euclidean")
VECTOR_TYPES = ("dense", "sparse")
_INDEX_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,43}[a-z0-9])?$")


class StoreError(Exception):
    """A request the index cannot serve; ``status`` is the HTTP status, ``code`` the gRPC code."""

    def __init__(self, message: str, *, status: int = 400, code: int = 3) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


def namespace_key(namespace: str | None) -> str:
    """The default namespace is spelled "", absent or ``__default__``; store it as ``__default__``."""
    return namespace or DEFAULT_NAMESPACE


@dataclass(frozen=True)
class SparseVector:
    indices: tuple[int, ...]
    values: tuple[float, ...]

    def to_wire(self) -> dict[str, Any]:
        return {"indices": list(self.indices), "values": list(self.values)}


@dataclass(frozen=True)
class Record:
    id: str
    values: tuple[float, ...] | None = None
    sparse: SparseVector | None = None
    metadata: Mapping[str, Any] | None = None

    def to_wire(self, *, include_values: bool = True, include_metadata: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id}
        if include_values:
            out["values"] = list(self.values or ())
            if self.sparse is not None:
                out["sparseValues"] = self.sparse.to_wire()
        if include_metadata and self.metadata is not None:
            out["metadata"] = dict(self.metadata)
        return out


@dataclass
class Index:
    name: str
    dimension: int | None
    metric: str = "cosine"
    vector_type: str = "dense"
    deletion_protection: str = "disabled"
    tags: dict[str, str] | None = None
    cloud: str = "aws"
    region: str = "us-east-1"
    namespaces: dict[str, dict[str, Record]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _INDEX_NAME.match(self.name):
            raise StoreError(
                f"Invalid index name {self.name!r}: use 1-45 lower-case letters, digits or '-', "
                "starting and ending with a letter or digit."
            )
        if self.metric not in METRICS:
            raise StoreError(f"Invalid metric {self.metric!r}: use one of {', '.join(METRICS)}.")
        if self.vector_type not in VECTOR_TYPES:
            raise StoreError(f"Invalid vector type {self.vector_type!r}: use dense or sparse.")
        if self.vector_type == "dense" and (self.dimension is None or not 1 <= self.dimension <= 20000):
            raise StoreError("A dense index needs a dimension between 1 and 20000.")
        if self.vector_type == "sparse":
            if self.metric != "dotproduct":
                self.metric = "dotproduct"
            self.dimension = None

    # -- writes --------------------------------------------------------------------------------------------
    def check_record(self, record: Record) -> None:
        """Raise StoreError with Pinecone's wording when the record does not fit this index."""
        if self.vector_type == "sparse":
            if record.values:
                raise StoreError("Upserting dense vectors is not supported for sparse indexes")
            if record.sparse is None or not record.sparse.indices:
                raise StoreError(f"Sparse vector {record.id} must have sparse values for a sparse index")
        else:
            if not record.values:
                raise StoreError(f"Vector {record.id} is missing values; a dense index needs dense values")
            if len(record.values) != self.dimension:
                raise StoreError(
                    f"Vector dimension {len(record.values)} does not match the dimension of the index "
                    f"{self.dimension}"
                )
        if record.sparse is not None and len(record.sparse.indices) != len(record.sparse.values):
            raise StoreError(f"Sparse vector {record.id}: indices and values must have the same length")

    def upsert(self, namespace: str | None, records: Iterable[Record]) -> int:
        batch = list(records)
        for record in batch:
            self.check_record(record)
        target = self.namespaces.setdefault(namespace_key(namespace), {})
        for record in batch:
            target[record.id] = record
        return len(batch)

    def delete(
        self, namespace: str | None, ids: list[str] | None, delete_all: bool, flt: dict[str, Any] | None
    ) -> None:
        key = namespace_key(namespace)
        records = self.namespaces.get(key)
        if records is None:
            return
        if delete_all:
            del self.namespaces[key]
            return
        doomed = set(ids or ())
        if flt:
            doomed |= {r.id for r in records.values() if matches_filter(r.metadata or {}, flt)}
        for rid in doomed:
            records.pop(rid, None)
        if not records:
            del self.namespaces[key]

    # -- reads ---------------------------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        counts = {ns: {"vectorCount": len(recs)} for ns, recs in sorted(self.namespaces.items())}
        out: dict[str, Any] = {
            "namespaces": counts,
            "indexFullness": 0.0,
            "totalVectorCount": sum(c["vectorCount"] for c in counts.values()),
            "metric": self.metric,
            "vectorType": self.vector_type,
        }
        if self.dimension is not None:
            out["dimension"] = self.dimension
        return out

    def query(
        self,
        namespace: str | None,
        *,
        top_k: int,
        vector: list[float] | None,
        sparse: SparseVector | None,
        flt: dict[str, Any] | None,
    ) -> list[tuple[Record, float]]:
        if self.vector_type == "dense" and vector is not None and len(vector) != self.dimension:
            raise StoreError(
                f"Query vector dimension {len(vector)} does not match the dimension of the index {self.dimension}"
            )
        records = self.namespaces.get(namespace_key(namespace), {}).values()
        scored: list[tuple[Record, float]] = []
        for record in records:
            if flt and not matches_filter(record.metadata or {}, flt):
                continue
            scored.append((record, self._score(record, vector, sparse)))
        lower_is_better = self.metric == "euclidean" and vector is not None
        scored.sort(key=lambda item: (item[1] if lower_is_better else -item[1], item[0].id))
        return scored[:top_k]

    def _score(self, record: Record, vector: list[float] | None, sparse: SparseVector | None) -> float:
        score = 0.0
        if vector is not None and record.values:
            score += dense_score(self.metric, vector, record.values)
        if sparse is not None and record.sparse is not None:
            weights = dict(zip(record.sparse.indices, record.sparse.values, strict=True))
            score += sum(v * weights.get(i, 0.0) for i, v in zip(sparse.indices, sparse.values, strict=True))
        return score


def dense_score(metric: str, query: Iterable[float], values: Iterable[float]) -> float:
    """Exact similarity: cosine and dot product (higher is closer), squared euclidean distance (lower is closer)."""
    a = list(query)
    b = list(values)
    if metric == "euclidean":
        return float(sum((x - y) ** 2 for x, y in zip(a, b, strict=True)))
    dot = float(sum(x * y for x, y in zip(a, b, strict=True)))
    if metric == "dotproduct":
        return dot
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


_COMPARATORS = {
    "$eq": lambda v, arg: v == arg,
    "$ne": lambda v, arg: v != arg,
    "$gt": lambda v, arg: isinstance(v, int | float) and v > arg,
    "$gte": lambda v, arg: isinstance(v, int | float) and v >= arg,
    "$lt": lambda v, arg: isinstance(v, int | float) and v < arg,
    "$lte": lambda v, arg: isinstance(v, int | float) and v <= arg,
    "$in": lambda v, arg: (v in arg) or (isinstance(v, list) and any(x in arg for x in v)),
    "$nin": lambda v, arg: not ((v in arg) or (isinstance(v, list) and any(x in arg for x in v))),
}


def matches_filter(metadata: Mapping[str, Any], flt: Mapping[str, Any]) -> bool:
    """Pinecone's metadata filter language ($eq, $ne, $gt(e), $lt(e), $in, $nin, $exists, $and, $or)."""
    for key, cond in flt.items():
        if key == "$and":
            if not all(matches_filter(metadata, sub) for sub in cond):
                return False
            continue
        if key == "$or":
            if not any(matches_filter(metadata, sub) for sub in cond):
                return False
            continue
        value = metadata.get(key)
        if not isinstance(cond, Mapping):
            cond = {"$eq": cond}
        for op, arg in cond.items():
            if op == "$exists":
                if (key in metadata) != bool(arg):
                    return False
                continue
            if key not in metadata and op != "$ne" and op != "$nin":
                return False
            compare = _COMPARATORS.get(op)
            if compare is None:
                raise StoreError(f"Unsupported filter operator {op!r}")
            if isinstance(value, list) and op == "$eq":
                if arg not in value:
                    return False
                continue
            if not compare(value, arg):
                return False
    return True
