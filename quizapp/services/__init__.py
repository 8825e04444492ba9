"""Business rules: plain functions taking ids and values. They flush, never commit, never read `request`."""
