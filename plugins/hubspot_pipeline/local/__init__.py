"""A local stand-in for HubSpot's Snowflake data share: DuckDB files served by fakesnow.

``share_schema`` defines the tables, ``generator`` fills them with synthetic data, ``tutorial`` loads
HubSpot's tutorial sample CSVs, ``emulator`` serves the files over Snowflake's HTTP protocol, and
``python -m hubspot_pipeline.local`` is the command line for seeding and serving.
"""
