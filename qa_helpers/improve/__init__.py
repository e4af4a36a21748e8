"""The improvement register and the before/after evaluation of its actions."""
