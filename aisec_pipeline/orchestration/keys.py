"""Asset keys: `<model name>/<asset>` (the model's own name, hyphens included, as the CLI says it)
and `governance/<file>`. Group names cannot hold a hyphen, so a model's group is its name with
underscores; every asset's description names the model."""

import dagster as dg

GOVERNANCE = "governance"


def dagster_name(model_name: str) -> str:
    """The model's group name (Dagster forbids hyphens there)."""
    return model_name.replace("-", "_")


def asset_key(model_name: str, kind: str) -> dg.AssetKey:
    return dg.AssetKey([model_name, kind])


def governance_key(name: str) -> dg.AssetKey:
    return dg.AssetKey([GOVERNANCE, name])


def op_name(key: dg.AssetKey) -> str:
    """The op Dagster derives from an asset key (for run config)."""
    return key.to_python_identifier()
