"""Stanceline: stance-tracking time series from news text."""

__version__ = "0.1.0"
