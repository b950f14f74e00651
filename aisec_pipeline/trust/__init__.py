"""Who may permit what: people are keys.

The foundation under every domain that honours a permission. A keyring (in the governed policy)
maps each person to roles and public keys; a permission is a DSSE envelope signature
(securesystemslib) over the canonical content of the record that permits something. Nothing
here imports Dagster or any domain package.
"""
