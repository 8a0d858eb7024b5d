-- Contacts of the share, one row per contact, read once by each product: the identifiers (the external id,
-- the e-mail address and the anonymous-id columns of identity.anonymous_ids, PROPERTY_<NAME> AS <NAME>),
-- the Personalize user attributes and the create date (the Hook export's contacts created), as text.
-- Properties are named by the configuration (properties.contacts.*) and read by `read` for the column
-- types the share has (hubspot_pipeline.share.columns): as text the pipeline casts (or rejects), so one
-- bad value never fails the query; an optional property the portal lacks reads as NULL. Identifiers are
-- normalised and resolved into users by hubspot_pipeline.identity.users.resolve_users; each product keeps
-- the columns it uses (the other product's read as NULL).
SELECT
    TO_VARCHAR(OBJECTID) AS CONTACT_ID,
    {{ read.text("contacts", "external_id") }} AS EXTERNAL_ID,
    {{ read.text("contacts", "email") }} AS EMAIL,
{%- for source, alias in read.anonymous_ids() %}
    {{ source }} AS {{ alias }},
{%- endfor %}
    {{ read.text("contacts", "age") }} AS AGE,
    {{ read.text("contacts", "gender") }} AS GENDER,
    {{ read.text("contacts", "createdate") }} AS CREATEDATE
FROM {{ read.table("contacts") }}
ORDER BY OBJECTID
