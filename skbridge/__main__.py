"""``python -m skbridge``: the command line (see :mod:`skbridge.cli`)."""

from __future__ import annotations


def main(argv=None) -> int:
    """``python -m skbridge ...``: the same command line as the ``skbridge`` script."""
    from .cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
