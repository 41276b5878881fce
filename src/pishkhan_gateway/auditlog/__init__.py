"""The tamper-evident log and everything that proves it: appending entries (``append``), the
RFC 6962 tree (``merkle``), the sealer that signs tree heads (``sealer``), block roots hashed in
helper processes (``blockroots``), ``audit verify`` (``verify``) and refused access recorded
(``denials``)."""
