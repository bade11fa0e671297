"""Deterministic demo data (`flask --app webapp demo-data`)."""

from webapp.demo.generator import DEMO_PASSWORD, SCALES, DemoDataExists, load_demo_data

__all__ = ["DEMO_PASSWORD", "SCALES", "DemoDataExists", "load_demo_data"]
