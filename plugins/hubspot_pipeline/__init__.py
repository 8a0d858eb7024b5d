"""HubSpot (Snowflake data share) to Amazon Personalize and Hook: the logic behind the DAGs in ``dags/``."""
