"""The click command line: thin entry points over the ledger (``commands/cli.py``)."""
