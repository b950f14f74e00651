"""`python -m llama_cpp.server`, but without llama.cpp's extra weight buffers (AMX / repacked).

On this machine (a 2-core VM whose CPU advertises AMX) llama-cpp-python 0.3.36 built with
GGML_NATIVE segfaults in `llama_decode` on the first request unless the model is loaded with
`use_extra_bufts = False`; the server has no flag for it, so this launcher sets it and then
runs the server's own `main` with the same arguments. A small model loses nothing measurable.
Usage: `python -m aisec_pipeline.redteam.llama_server --model FILE.gguf --model_alias NAME ...`
"""

from __future__ import annotations

import llama_cpp.llama_cpp as bindings


def _without_extra_buffers(default_params):
    def model_params():
        params = default_params()
        params.use_extra_bufts = False
        return params

    return model_params


def main() -> None:
    bindings.llama_model_default_params = _without_extra_buffers(
        bindings.llama_model_default_params)
    from llama_cpp.server.__main__ import main as serve

    serve()


if __name__ == "__main__":
    main()
