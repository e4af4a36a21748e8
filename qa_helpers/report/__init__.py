"""What readers see: plot style and charts, en/zh labels, notebook context, the index page."""
