"""Watching the period: threshold alerts, coaching cases and control charts."""
