"""`python -m stream` runs the same CLI as the `dmvwatch` console script."""

from stream.cli import app

if __name__ == "__main__":
    app()
