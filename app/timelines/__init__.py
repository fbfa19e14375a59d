"""Observations -> series and shifts. Pure pandas: no web or database imports."""
