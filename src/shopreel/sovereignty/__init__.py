"""Data sovereignty primitives for ShopReel.

Personal data is *sovereign*: every user's PII lives in the database of the user's home
region and is encrypted there with keys that belong to that region.

Modules:

* :mod:`shopreel.sovereignty.crypto` - AES-256-GCM field encryption bound to a context
  (table/column/row), blind indexes for equality lookups, and :class:`FieldCipher`.
* :mod:`shopreel.sovereignty.keys` - the key hierarchy: a per-region key-encryption key
  (KEK) wraps per-user data keys (DEKs); :class:`KeyProvider` is the plug-in point for a
  KMS or Vault, :class:`LocalKeyProvider` keeps keys in files.
* :mod:`shopreel.sovereignty.merkle` - an RFC 6962 / RFC 9162 Merkle tree, inclusion and
  consistency proofs and Ed25519-signed tree heads for a tamper-evident audit log.

See ``docs/sovereignty-crypto.md`` for the formats.
"""
