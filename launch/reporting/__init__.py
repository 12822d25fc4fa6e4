"""Rendering of metrics reports: rich terminal tables, comparisons, PNG plots (matplotlib, Agg)."""
