"""Commands of the offline runtime, mounted on the ``autoimport`` CLI: ``emulator`` and ``demo``."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the offline commands to the operator CLI (only those whose modules are present)."""
    try:
        from local.emulator.cli import main as emulator_command
    except ImportError:
        pass
    else:
        app.command("emulator", help="Run the offline Pinecone bulk-import emulator.")(emulator_command)
    try:
        from local.demo import demo_command
    except ImportError:
        pass
    else:
        app.command("demo", help="Run the whole pipeline offline: S3 drop → import → notification.")(
            demo_command
        )
