-- Every explicit contact-to-company association (a contact may belong to several companies; the identity
-- stage chooses one account per user, deterministically). DISTINCT: a pair can be listed once per
-- association type (primary, unlabeled, ...).
SELECT DISTINCT
    TO_VARCHAR(CONTACT_OBJECTID) AS CONTACT_ID,
    TO_VARCHAR(COMPANY_OBJECTID) AS COMPANY_ID
FROM {{ read.table("contact_companies") }}
ORDER BY CONTACT_ID, COMPANY_ID
