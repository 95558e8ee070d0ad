"""evalpanel: import, store and run the evaluation of a grant call (the application layer)."""

__version__ = "0.1.0"
