"""The ``evalpanel`` command line."""

from __future__ import annotations

import click

from evalpanel import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evalpanel")
def main() -> None:
    """Evaluation scoring and reviewer assignment for competitive grant calls."""


if __name__ == "__main__":
    main()
