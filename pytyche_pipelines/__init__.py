"""Dagster definitions for pytyche: thin assets over ``pytyche_core``.

Nothing statistical lives here; every asset calls the library and records
what it did (rows, lineage, a few numbers worth a glance) as metadata.
"""
