"""Footers: read them (concurrently, with a bounded sample) and check each file's schema."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from functions.integrations.parquet import ColumnType, ParquetInspection, inspect_parquet
from functions.integrations.storage import Storage, StoredObject, join_uri
from functions.logic.validation.codes import problem
from functions.logic.validation.layout import Layout, Target
from functions.models.report import Problem, Severity, ValidationOptions

KNOWN_COLUMNS = ("id", "values", "sparse_values", "metadata")


def inspect_all(
    root: str, files: list[StoredObject], storage: Storage, options: ValidationOptions
) -> dict[str, ParquetInspection]:
    def inspect(obj: StoredObject) -> ParquetInspection:
        if obj.size == 0:
            return ParquetInspection(size=0)
        return inspect_parquet(
            storage,
            join_uri(root, obj.key),
            obj.size,
            sample_rows=options.sample_rows,
            sample_columns=KNOWN_COLUMNS,
            budget_bytes=options.sample_budget_bytes,
        )

    if not files:
        return {}
    workers = max(1, min(options.concurrency, len(files)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="validate") as pool:
        futures = [pool.submit(inspect, obj) for obj in files]
        try:
            results = [future.result() for future in futures]  # in file order: deterministic
        except BaseException:
            for future in futures:  # a storage outage: stop at once, the whole validation is retried later
                future.cancel()
            raise
    return {obj.key: result for obj, result in zip(files, results, strict=True)}


def check_file(
    key: str, info: ParquetInspection, target: Target, options: ValidationOptions, problems: list[Problem]
) -> None:
    if info.size == 0:
        problems.append(problem("file.zero_bytes", f"{key} is 0 bytes", file=key))
        return
    if info.unreadable:
        problems.append(problem("file.unreadable", f"{key}: {info.unreadable}", file=key))
        return
    if info.footer_too_large:
        problems.append(problem("file.footer_too_large", f"{key}: {info.footer_error}", file=key))
        return
    if info.footer_error:
        problems.append(problem("file.unreadable_footer", f"{key}: {info.footer_error}", file=key))
        return
    if info.num_rows == 0:
        problems.append(problem("file.no_rows", f"{key} has 0 rows", file=key))
    if info.data_error:
        problems.append(problem("file.corrupt_data", f"{key}: {info.data_error}", file=key))
    for column in info.skipped_columns:
        problems.append(problem("file.sample_skipped", f"{key}: {info.sample_note}", file=key, column=column))
    check_schema(key, info.columns, target, options, problems)


class AddProblem(Protocol):
    def __call__(self, code: str, message: str, column: str, severity: Severity | None = None) -> None: ...


def check_schema(
    key: str,
    columns: dict[str, ColumnType],
    target: Target,
    options: ValidationOptions,
    problems: list[Problem],
) -> None:
    def add(code: str, message: str, column: str, severity: Severity | None = None) -> None:
        problems.append(problem(code, f"{key}: {message}", file=key, column=column, severity=severity))

    id_type = columns.get("id")
    if id_type is None:
        add("schema.missing_column", "required column 'id' is missing", "id")
    elif id_type.kind != "string":
        add("schema.wrong_type", f"'id' must be a string column, found {id_type.text}", "id")

    values = columns.get("values")
    sparse = columns.get("sparse_values")
    if values is None:
        if target.vector_type == "dense" or (target.vector_type is None and sparse is None):
            add("schema.missing_column", "required column 'values' (the dense vector) is missing", "values")
    else:
        if target.vector_type == "sparse":
            add("index.vector_type_mismatch", "has a dense 'values' column but the index is sparse", "values")
        check_float_list(add, values, "values", "'values'")

    if sparse is None:
        if target.vector_type == "sparse":
            add(
                "schema.missing_column",
                "required column 'sparse_values' is missing (the index is sparse)",
                "sparse_values",
            )
    elif sparse.kind != "struct":
        add(
            "schema.wrong_type",
            f"'sparse_values' must be struct<indices: list<uint32>, values: list<float>>, found {sparse.text}",
            "sparse_values",
        )
    else:
        indices = sparse.field("indices")
        sparse_vals = sparse.field("values")
        if indices is None or sparse_vals is None:
            add(
                "schema.wrong_type",
                f"'sparse_values' needs fields 'indices' and 'values', found {sparse.text}",
                "sparse_values",
            )
        if indices is not None:
            if indices.kind != "list" or indices.item is None or not indices.item.is_integer:
                add(
                    "schema.wrong_type",
                    f"'sparse_values.indices' must be list<uint32>, found {indices.text}",
                    "sparse_values",
                )
            elif indices.item.kind != "uint32":
                add(
                    "schema.sparse_indices_type",
                    f"'sparse_values.indices' is {indices.text}, not list<uint32>",
                    "sparse_values",
                )
        if sparse_vals is not None:
            check_float_list(add, sparse_vals, "sparse_values", "'sparse_values.values'")
        extra = [name for name, _ in sparse.fields if name not in ("indices", "values")]
        if extra:
            add(
                "schema.wrong_type",
                f"'sparse_values' has unexpected field(s) {', '.join(extra)}",
                "sparse_values",
            )

    metadata = columns.get("metadata")
    if metadata is not None and metadata.kind != "string":
        if metadata.kind in ("struct", "map"):
            add("schema.metadata_not_string", f"'metadata' is {metadata.text}, not a JSON string", "metadata")
        else:
            add(
                "schema.wrong_type",
                f"'metadata' must be a UTF-8 JSON string column, found {metadata.text}",
                "metadata",
            )

    severity = Severity.ERROR if options.extra_columns_are_errors else Severity.WARNING
    for name in columns:
        if name not in KNOWN_COLUMNS:
            add("schema.extra_column", f"unsupported column {name!r}", name, severity)


def check_float_list(add: AddProblem, column_type: ColumnType, column: str, label: str) -> None:
    item = column_type.item
    if column_type.kind != "list" or item is None:
        add("schema.wrong_type", f"{label} must be list<float32>, found {column_type.text}", column)
    elif item.kind == "float64":
        add(
            "schema.values_float64",
            f"{label} is {column_type.text} (float64): Pinecone expects float32",
            column,
        )
    elif item.kind != "float32":
        add("schema.wrong_type", f"{label} must be list<float32>, found {column_type.text}", column)


def check_dimensions(
    layout: Layout, inspections: dict[str, ParquetInspection], target: Target, problems: list[Problem]
) -> None:
    """Fixed-size ``values`` lists must match the index dimension, or (unknown) agree with each other."""
    sizes: dict[str, int] = {}
    for obj in layout.parquet_files():
        values = inspections[obj.key].columns.get("values")
        if values is not None and values.list_size is not None:
            sizes[obj.key] = values.list_size
    if target.dimension is not None:
        for key, size in sorted(sizes.items()):
            if size != target.dimension:
                problems.append(
                    problem(
                        "schema.dimension_mismatch",
                        f"{key}: 'values' is a fixed list of {size}, the index dimension is {target.dimension}",
                        file=key,
                        column="values",
                    )
                )
        return
    for namespace, objs in sorted(layout.namespaces.items()):
        ns_sizes = {o.key: sizes[o.key] for o in objs if o.key in sizes}
        if len(set(ns_sizes.values())) > 1:
            first_key = min(ns_sizes)
            for key, size in sorted(ns_sizes.items()):
                if size != ns_sizes[first_key]:
                    problems.append(
                        problem(
                            "schema.inconsistent_dimension",
                            f"{key}: 'values' is a fixed list of {size} but {first_key} (namespace {namespace!r}) "
                            f"has {ns_sizes[first_key]}",
                            file=key,
                            column="values",
                        )
                    )
