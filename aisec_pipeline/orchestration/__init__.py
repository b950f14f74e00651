"""The Dagster shell. This package's own module imports nothing heavy, so `quiet_dagster()` can
run before Dagster is first imported."""


def quiet_dagster() -> None:
    """Keep the gate's output to the decisions: Dagster's beta/deprecation notices are for us."""
    import warnings

    warnings.filterwarnings("ignore", module="dagster")
    warnings.filterwarnings("ignore", message=".*(beta|deprecated).*")
