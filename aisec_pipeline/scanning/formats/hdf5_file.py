"""HDF5 (Keras .h5): only the `model_config` attribute is read; no model is built."""

from __future__ import annotations

from ..context import ScanContext, Source
from ..engines import modelscan_engine
from .keras_config import check_config_text


def scan(source: Source, ctx: ScanContext) -> str:
    import h5py

    with source.open() as stream, h5py.File(stream, "r") as h5:
        config = h5.attrs.get("model_config")
    if config is None:
        ctx.flag("hdf5.no-model-config", "HDF5 without a Keras model config (weights only)", source.label)
        return "hdf5"
    check_config_text(config, ctx, source.label)
    if source.path is not None:
        with ctx.guard(modelscan_engine.NAME, source.label):
            modelscan_engine.scan_keras(source.path, "h5", ctx, source.label)
    return "keras-h5"
