"""The framework: stages, processing and middleware, runtimes, stores and settings.

It knows nothing of this project's stages; `pipeline.app` wires them in (topology, CLI, demo,
dashboards, deploy files).
"""
