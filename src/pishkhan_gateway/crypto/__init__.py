"""Keys and what they protect: Ed25519 signatures over canonical JSON (``signing``), key files
and their rotation (``keyfiles``), personal data encrypted at rest with AES-GCM (``vault``) and
keyed pseudonyms (``pseudonyms``).

One word for one thing: personal data is *encrypted* (``Vault.encrypt``/``decrypt``); the log is
*sealed* (the sealer signs tree heads; ``not_sealed_yet``). The public code
``sealed_data_invalid`` and the column ``citizen_sealed`` keep the names they were published
with.
"""
