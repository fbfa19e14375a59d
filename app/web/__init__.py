"""The dashboard: one page at `/`, its scripts and styles, all served by the app itself (no CDN)."""

from __future__ import annotations

from app.web.install import install_dashboard

__all__ = ["install_dashboard"]
