"""One module per ``evalpanel`` command."""
