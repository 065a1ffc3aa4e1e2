"""Which events start an import: a marker object in a drop folder under a route's prefix."""

from __future__ import annotations

from dataclasses import dataclass

from functions.settings import Route, Settings


@dataclass(frozen=True)
class RoutedDrop:
    route: Route
    bucket: str
    prefix: str
    """The drop folder: ``<route.prefix><drop...>/``."""
    marker_key: str


@dataclass(frozen=True)
class Ignored:
    reason: str


def resolve_marker(settings: Settings, *, bucket: str, key: str) -> RoutedDrop | Ignored:
    """Route an object-created key, or say (for the log) why it does not start anything."""
    if settings.bucket is not None and bucket != settings.bucket:
        return Ignored(f"bucket {bucket!r} is not the configured drop bucket {settings.bucket!r}")
    folder, _, name = key.rpartition("/")
    if name != settings.marker_name:
        return Ignored(f"{key!r} is not a marker (markers are named {settings.marker_name!r})")
    route = settings.route_for_key(key)
    if route is None:
        prefixes = ", ".join(repr(r.prefix) for r in settings.routes) or "none configured"
        return Ignored(f"marker {key!r} is outside every route prefix ({prefixes})")
    drop = folder + "/"
    if len(drop) <= len(route.prefix) or not drop.startswith(route.prefix):
        return Ignored(
            f"marker {key!r} sits directly in the route prefix {route.prefix!r}; "
            f"put it in a drop folder: {route.prefix}<drop>/{settings.marker_name}"
        )
    segments = drop[len(route.prefix) :].split("/")[:-1]
    if any(segment in ("", ".", "..") for segment in segments):
        # S3 keeps such keys literally, but a URI with "..", "." or "//" may be normalised by whoever reads it
        # (Pinecone) into another folder, outside the route prefix: never start an import from one.
        return Ignored(
            f"marker {key!r} has an empty, '.' or '..' folder name below the route prefix {route.prefix!r}; "
            "rename the drop folder"
        )
    if len(segments) != route.drop_depth:
        # Most often a marker inside a namespace folder: Spark writes _SUCCESS into every folder it produces.
        shape = route.prefix + "/".join(f"<level{i + 1}>" for i in range(route.drop_depth)) + "/"
        why = (
            "a marker inside a namespace folder (Spark writes one per folder) is not a drop marker"
            if len(segments) > route.drop_depth
            else "move the marker into the drop folder, or change the route's drop_depth"
        )
        return Ignored(
            f"marker {key!r} is {len(segments)} folder(s) below the route prefix {route.prefix!r}, but route "
            f"{route.name!r} takes drops at {shape}{settings.marker_name} (drop_depth={route.drop_depth}): {why}"
        )
    return RoutedDrop(route=route, bucket=bucket, prefix=drop, marker_key=key)
