"""Running notebooks: one with papermill and HTML, many in a batch."""
