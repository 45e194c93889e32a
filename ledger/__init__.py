"""The zorgkas ledger: events, the member aggregate, the rule book and the event store.

The domain core is pure: rules are functions of a member's events and a date
(see ``ledger/rules``); only ``ledger/store.py`` touches a database.
"""
