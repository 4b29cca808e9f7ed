"""``python -m trio_enrich``: the same as the ``trio-enrich`` command."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
