"""aisec: the AI deployment gate.

A plain core (inventory, scanning, redteam, fairness, cards, governance) that never imports
Dagster, under a thin Dagster shell (orchestration, definitions).
"""

__version__ = "0.1.0"
