-- Every explicit contact-to-company association (a contact may belong to several companies; the identity
-- stage chooses one account per user, deterministically).
SELECT DISTINCT
    TO_VARCHAR(CONTACT_OBJECTID) AS CONTACT_ID,
    TO_VARCHAR(COMPANY_OBJECTID) AS COMPANY_ID
FROM {{ share }}."ASSOCIATIONS_CONTACTS_TO_COMPANIES"
ORDER BY CONTACT_ID, COMPANY_ID
