"""The rule book (docs/rules.md) as pure functions of a member's ``History`` and a date.

One module per rule family; each function names the rule id it implements.
"""
