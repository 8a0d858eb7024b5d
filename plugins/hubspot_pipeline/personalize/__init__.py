"""The Amazon Personalize export: datasets, transformation, rules, files and DAG tasks."""
