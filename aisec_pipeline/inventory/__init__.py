"""The governed inventory: registry entries, loading, path confinement."""

from .loader import (
    InventoryError,
    Model,
    confine,
    default_inventory_root,
    load_inventory,
    load_model,
    resolve_inventory,
)
from .schema import RegistryEntry

__all__ = ["InventoryError", "Model", "RegistryEntry", "confine", "default_inventory_root",
           "load_inventory", "load_model", "resolve_inventory"]
