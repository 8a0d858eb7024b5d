"""The Hook export: metric engine, files, validation and DAG tasks."""
