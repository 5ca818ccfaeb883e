"""The application: this project's stages wired into the framework below.

`topology` declares which stage reads and writes what; the CLI, the demo, the dashboards, the
ACLs and the deploy files are derived from it. Only this package imports `consumers` and
`producers`; the framework modules in `pipeline/` never do (a test keeps it so).
"""
