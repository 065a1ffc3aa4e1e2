"""Which keys start an import, and the drop identity they produce."""

from __future__ import annotations

import pytest

from functions.logic.drop import drop_id_for, execution_name, make_drop
from functions.logic.routing import Ignored, RoutedDrop, resolve_marker
from functions.settings import Settings

SETTINGS = Settings.model_validate(
    {
        "bucket": "drops",
        "routes": [
            {"name": "products", "prefix": "imports/products", "index_host": "products.svc.pinecone.io"},
            {
                "name": "docs",
                "prefix": "imports/docs/",
                "index_host": "docs.svc.pinecone.io",
                "drop_depth": 2,
            },
        ],
    }
)


def test_a_marker_in_a_drop_folder_routes_to_its_index() -> None:
    routed = resolve_marker(SETTINGS, bucket="drops", key="imports/products/2026-11-29/_SUCCESS")
    assert isinstance(routed, RoutedDrop)
    assert routed.route.name == "products"
    assert routed.prefix == "imports/products/2026-11-29/"
    assert routed.marker_key == "imports/products/2026-11-29/_SUCCESS"


def test_nested_drop_folders_are_allowed_at_the_routes_drop_depth() -> None:
    routed = resolve_marker(SETTINGS, bucket="drops", key="imports/docs/team-a/run-7/_SUCCESS")
    assert isinstance(routed, RoutedDrop)
    assert (routed.route.name, routed.prefix) == ("docs", "imports/docs/team-a/run-7/")


def test_a_marker_inside_a_namespace_folder_is_not_a_drop() -> None:
    # Given Spark wrote one namespace of a drop: it leaves _SUCCESS inside the namespace folder
    routed = resolve_marker(SETTINGS, bucket="drops", key="imports/products/2026-11-29/shoes/_SUCCESS")

    # Then that marker is ignored (a rejection per namespace would be noise); the drop's own marker counts
    assert isinstance(routed, Ignored)
    assert "drop_depth=1" in routed.reason
    assert "namespace folder" in routed.reason
    assert isinstance(
        resolve_marker(SETTINGS, bucket="drops", key="imports/products/2026-11-29/_SUCCESS"), RoutedDrop
    )


def test_a_marker_above_the_routes_drop_depth_is_ignored() -> None:
    routed = resolve_marker(SETTINGS, bucket="drops", key="imports/docs/team-a/_SUCCESS")
    assert isinstance(routed, Ignored)
    assert "drop_depth=2" in routed.reason


@pytest.mark.parametrize(
    ("bucket", "key", "reason"),
    [
        ("drops", "imports/products/2026-11-29/shoes/0.parquet", "not a marker"),
        ("drops", "imports/products/2026-11-29/_SUCCESS.tmp", "not a marker"),
        ("drops", "scratch/2026-11-29/_SUCCESS", "outside every route"),
        ("drops", "imports/products/_SUCCESS", "directly in the route prefix"),
        ("other", "imports/products/2026-11-29/_SUCCESS", "not the configured drop bucket"),
    ],
)
def test_other_keys_are_ignored_with_a_reason(bucket: str, key: str, reason: str) -> None:
    result = resolve_marker(SETTINGS, bucket=bucket, key=key)
    assert isinstance(result, Ignored)
    assert reason in result.reason


def test_without_a_configured_bucket_any_bucket_routes() -> None:
    settings = SETTINGS.model_copy(update={"bucket": None})
    assert isinstance(resolve_marker(settings, bucket="other", key="imports/products/d/_SUCCESS"), RoutedDrop)


def test_a_custom_marker_name_is_honoured() -> None:
    settings = SETTINGS.model_copy(update={"marker_name": "READY"})
    assert isinstance(resolve_marker(settings, bucket="drops", key="imports/products/d/READY"), RoutedDrop)
    assert isinstance(resolve_marker(settings, bucket="drops", key="imports/products/d/_SUCCESS"), Ignored)


def test_drop_identity_is_stable_and_changes_with_the_marker() -> None:
    a = drop_id_for("drops", "imports/docs/d/", '"abc"', None)
    assert a == drop_id_for("drops", "imports/docs/d/", "abc", None)  # quoted or not: same ETag
    assert a != drop_id_for("drops", "imports/docs/d/", "abd", None)  # re-uploaded marker: a new drop
    assert a != drop_id_for("drops", "imports/docs/e/", "abc", None)
    assert a != drop_id_for("drops", "imports/docs/d/", "abc", "v2")


def test_make_drop_builds_the_import_uri() -> None:
    drop = make_drop(
        bucket="drops",
        prefix="imports/docs/d/",
        marker_key="imports/docs/d/_SUCCESS",
        marker_etag='"e"',
        marker_version_id=None,
    )
    assert drop.uri == "s3://drops/imports/docs/d/"
    assert drop.marker_etag == "e"


def test_execution_names_are_deterministic_and_valid() -> None:
    name = execution_name("my route/with:odd chars" * 5, "f" * 32)
    assert name == execution_name("my route/with:odd chars" * 5, "f" * 32)
    assert len(name) <= 80
    assert all(c.isalnum() or c in "-_" for c in name)
    assert name.endswith("f" * 32)
