"""``python -m evalpanel``: the same command line as the ``evalpanel`` console script."""

from evalpanel.cli import main

if __name__ == "__main__":
    main()
