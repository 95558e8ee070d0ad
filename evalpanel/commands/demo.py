"""``evalpanel demo``: the demo call, end to end."""

from __future__ import annotations

from pathlib import Path

import click


def demo_call_dir() -> Path:
    """The committed demo call folder (``fixtures/demo``)."""
    import fixtures

    return Path(fixtures.__file__).resolve().parent / "demo"


@click.command()
def demo() -> None:
    """Load the demo call (an Erasmus+ Alliances for Innovation 2026 call) and run it."""
    from evalpanel.cli import describe, load_call

    folder = demo_call_dir()
    call = load_call(folder)
    click.echo(f"Demo call from {folder}")
    click.echo(describe(call))
