"""The benchmark: a synthetic population and the measurements of docs/performance.md."""
