"""`python -m ascolto`: the same command line as the `ascolto` console script."""

from ascolto.cli import main

if __name__ == "__main__":
    main()
