"""The ops dashboard: faust-streaming windowed tables over `kyb.metrics` and `kyb.status`,
served as Prometheus `/metrics`, a JSON summary and an HTML page with live charts."""
