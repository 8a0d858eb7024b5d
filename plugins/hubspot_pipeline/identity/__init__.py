"""Identity resolution: who is who, following Hull's ingestion model (format → resolve → publish, with a
log line for every record). Shared by both exports; configured in ``identity:`` of
``include/config/pipeline.yaml``.

**Identifiers** of a contact, strongest first: ``external_id`` (``EXTERNAL_ID``, trimmed), ``email``
(trimmed, lower-cased, a syntactically valid address) and ``anonymous_id`` (the alias columns
``identity.anonymous_ids``, e.g. ``VISITOR_ID``; each column is its own namespace). A value is *not* an
identifier when it is blocked (``blocked_values``; for e-mails also ``blocked_email_patterns``), when more
than ``max_contacts_per_identifier`` contacts share it (a shared inbox, a kiosk's visitor id), or, for an
external id, when it is longer than ``max_external_id_length``. The HubSpot record id (``CONTACT_ID``)
identifies the contact itself, so every contact with a record id resolves to a user; a row without one is
skipped.

**User rules** (all vectorised; no loop over rows):

1. Contacts with the same external id are one user.
2. Contacts without an external id ("mergeable", as in Hull) that share an e-mail or an anonymous id,
   directly or through a chain (A–B by e-mail, B–C by visitor id), form one cluster (connected components).
3. A cluster joins the external-id user it shares an identifier with. When it shares identifiers with
   several, the strongest kind of shared identifier decides (an e-mail beats an anonymous id); when several
   external-id users tie at that kind, the cluster joins none of them: the conflict is logged and the
   cluster stays a user of its own.
4. Contacts carrying different external ids are never merged, whatever else they share.

**Recipient** of a merge (the surviving contact): the contact ranked first by (has an external id, lowest
numeric record id, record id as text). HubSpot record ids grow with creation, so it is the oldest contact
with an external id, else the oldest contact. ``USER_ID`` is the recipient's external id, else
``hubspot-<recipient record id>``; every contact of the user, and every event of those contacts, takes it.
The result depends only on the set of rows, never on their order, and a ``USER_ID`` changes between runs
only when a user gains its first external id (anonymous traffic that signs up, as in Hull) or loses its
recipient.

**Values** of a merged user (:meth:`UserResolution.merge_values`): the recipient's where it has one, else
the first non-empty value of the other contacts in rank order ("the recipient keeps its values").

**Accounts** (:func:`resolve_accounts`): a company is an account, known by its HubSpot company id or, with
``identity.account_id: external_id``, by its external id (companies without one keep their company id).
Company domains are normalised (``https://www.Example.com/`` → ``example.com``); a free e-mail provider's
domain (:func:`free_email_domains`) is never an account claim. Companies are ranked like contacts: with an
external id first, then by lowest company id. Companies sharing a domain stay separate accounts, and the
domain's e-mail matches go to the first ranked. A user belongs to at most one account: through an explicit
contact–company association first (its contacts in rank order, then companies in rank order), and only when
it has none, through the domain of its contacts' e-mail addresses (contacts in rank order).

**Logs**: every record ends as ``incoming.{user|account|event}.{success|skip|error}`` (:class:`IncomingLog`)
with its identifiers and a reason; e-mails and anonymous ids appear only as keyed hashes of their normalised
value (the first 16 hex digits of an HMAC-SHA-256 keyed by the secret of ``identity.hash_key_variable``:
stable across runs with one key, not reversible from a list of addresses without it). *success*: the
record was resolved (a merged contact too: "merged into contact … via email"; ignored identifiers and
failed casts are noted in its reason). *skip*: a row without a record id, or a
duplicate row of one record id. *error*: an event whose contact is not among the resolved contacts (no user
or account rule produces an error: a contact or company with a record id always resolves). The counts are
checked against the records read (:meth:`IncomingLog.check`), failing the run if anything went missing.

Modules: :mod:`.identifiers` (normalising identifiers), :mod:`.graph` (connected components),
:mod:`.users`, :mod:`.accounts`, :mod:`.log` (the ``incoming.*`` log), :mod:`.attributes` (Hull's
attribute rules) and :mod:`.resolve` (the stage as both exports run it).
"""
