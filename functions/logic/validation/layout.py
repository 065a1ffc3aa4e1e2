"""Layout of a drop (namespaces are the immediate subfolders), its limits, and the target index's namespaces."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from functions.integrations.storage import StoredObject
from functions.logic.validation.codes import problem
from functions.models.imports import IndexStats
from functions.models.report import Problem, ValidationOptions

DEFAULT_NAMESPACE = "__default__"
PARQUET_SUFFIX = ".parquet"
MAX_NAMESPACE_LENGTH = 512


@dataclass
class Layout:
    namespaces: dict[str, list[StoredObject]] = field(default_factory=dict)
    """Namespace → its Parquet files (including nested ones)."""
    folders: set[str] = field(default_factory=set)
    root_parquet: list[StoredObject] = field(default_factory=list)
    marker: StoredObject | None = None

    def parquet_files(self) -> list[StoredObject]:
        files = list(self.root_parquet)
        for objects in self.namespaces.values():
            files.extend(objects)
        return sorted(files, key=lambda o: o.key)


@dataclass
class Target:
    dimension: int | None
    vector_type: str | None  # "dense" | "sparse" | None (unknown)


def classify(objects: Iterable[StoredObject], options: ValidationOptions, problems: list[Problem]) -> Layout:
    layout = Layout()
    for obj in objects:
        key = obj.key
        if not key or key.endswith("/"):
            continue  # the prefix itself or a "folder" placeholder object
        parts = key.split("/")
        name = parts[-1]
        is_parquet = name.endswith(PARQUET_SUFFIX)
        if len(parts) == 1:
            if name == options.marker_name:
                layout.marker = obj
            elif name == options.report_name:
                continue
            elif is_parquet:
                layout.root_parquet.append(obj)
            else:
                problems.append(
                    problem("layout.ignored_file", f"{key} is not a .parquet file: ignored", file=key)
                )
            continue
        namespace = parts[0]
        layout.folders.add(namespace)
        layout.namespaces.setdefault(namespace, [])
        if not is_parquet:
            problems.append(
                problem("layout.ignored_file", f"{key} is not a .parquet file: ignored", file=key)
            )
            continue
        if len(parts) > 2:
            problems.append(
                problem(
                    "layout.nested_file",
                    f"{key} is nested {len(parts) - 2} folder(s) below namespace {namespace!r}",
                    file=key,
                )
            )
        layout.namespaces[namespace].append(obj)
    return layout


def check_layout(uri: str, layout: Layout, problems: list[Problem]) -> None:
    has_namespace_files = any(layout.namespaces.values())
    if not has_namespace_files and not layout.root_parquet:
        detail = "no objects at all" if not layout.folders and layout.marker is None else "no .parquet files"
        problems.append(problem("layout.empty_drop", f"{uri} holds {detail}", file=uri))
    elif layout.root_parquet and not has_namespace_files:
        problems.append(
            problem(
                "layout.uri_is_namespace",
                f"{uri} holds {len(layout.root_parquet)} .parquet file(s) directly and no namespace folders: "
                "it looks like a namespace folder",
                file=uri,
            )
        )
    else:
        for obj in layout.root_parquet:
            problems.append(
                problem(
                    "layout.no_namespace",
                    f"{obj.key} sits directly under the URI, not in a namespace folder",
                    file=obj.key,
                )
            )
    for namespace in sorted(layout.folders):
        if not layout.namespaces.get(namespace) and has_namespace_files:
            problems.append(
                problem(
                    "layout.empty_namespace",
                    f"namespace folder {namespace!r} holds no .parquet file",
                    file=namespace + "/",
                )
            )
        check_namespace_name(namespace, problems)


def check_namespace_name(namespace: str, problems: list[Problem]) -> None:
    where = namespace + "/"
    if len(namespace) > MAX_NAMESPACE_LENGTH:
        problems.append(
            problem(
                "layout.namespace_too_long",
                f"namespace {namespace[:40]!r}… is {len(namespace)} characters (max {MAX_NAMESPACE_LENGTH})",
                file=where,
            )
        )
    if not namespace.isprintable():
        problems.append(
            problem(
                "layout.namespace_unprintable",
                f"namespace {namespace!r} has unprintable characters",
                file=where,
            )
        )
    elif namespace != DEFAULT_NAMESPACE and (
        namespace != namespace.strip()
        or not all(c.isascii() and (c.isalnum() or c in "-_.") for c in namespace)
        or namespace.startswith("__")
    ):
        problems.append(
            problem("layout.namespace_unusual", f"namespace {namespace!r} has an unusual name", file=where)
        )


def check_limits(
    uri: str, layout: Layout, files: list[StoredObject], options: ValidationOptions, problems: list[Problem]
) -> None:
    if len(files) > options.max_files and not any(p.code == "limits.too_many_files" for p in problems):
        problems.append(
            problem(
                "limits.too_many_files",
                f"{len(files)} Parquet files; the limit is {options.max_files} (footers were not read)",
                file=uri,
            )
        )
    for obj in files:
        if obj.size > options.max_file_bytes:
            problems.append(
                problem(
                    "limits.file_too_large",
                    f"{obj.key} is {obj.size} bytes; the limit is {options.max_file_bytes}",
                    file=obj.key,
                )
            )
    namespaces = [ns for ns, objs in layout.namespaces.items() if objs]
    if len(namespaces) > options.max_namespaces:
        problems.append(
            problem(
                "limits.too_many_namespaces",
                f"{len(namespaces)} namespaces; the limit is {options.max_namespaces}",
                file=uri,
            )
        )
    total = sum(o.size for o in files)
    if total > options.max_total_bytes:
        problems.append(
            problem(
                "limits.total_bytes",
                f"{total} bytes of Parquet; the limit is {options.max_total_bytes}",
                file=uri,
            )
        )


def check_index(layout: Layout, index: IndexStats, problems: list[Problem]) -> None:
    for namespace, objs in sorted(layout.namespaces.items()):
        if not objs:
            continue
        names = ("", DEFAULT_NAMESPACE) if namespace == DEFAULT_NAMESPACE else (namespace,)
        count = max((index.namespaces[n].vector_count for n in names if n in index.namespaces), default=0)
        if count > 0:
            label = "the default namespace" if namespace == DEFAULT_NAMESPACE else f"namespace {namespace!r}"
            problems.append(
                problem(
                    "index.namespace_exists",
                    f"{label} already holds {count} vectors in the index; Pinecone imports only into new namespaces",
                    file=namespace + "/",
                )
            )
