"""``python -m trio_enrich``: the same as the ``trio-enrich`` command."""

from ._entry import entry

if __name__ == "__main__":
    entry()
