"""Prompt-injection red-teaming: garak batteries against a deployed LLM, judged fail-closed.

Entry points (imported from their modules, so `import aisec_pipeline.redteam` stays light):
- `runner.run_battery(target, policy, workdir, on_progress=None) -> InjectionResult`
- `evidence.injection_verdict(result, policy) -> Verdict(kind="injection_report")`
- `target.Target`, `target.target_from_model(model)`: what to test, with its system prompt
- `serve.LocalLLMServer(gguf_path, alias)`: serve a GGUF on loopback for the scan
- `command.register(subparsers)`: the `aisec redteam` CLI
"""
