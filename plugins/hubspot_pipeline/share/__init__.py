"""Reading HubSpot's Snowflake share: the session, SQL rendering and share schema checks."""
