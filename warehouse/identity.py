"""User ids: anonymous ids come from the client; identified ids are derived from the identity."""

import hashlib

# Anonymous ids are random integers below 2**53 (safe in JavaScript). Identified ids set bit 62,
# so the two ranges never meet, and stay positive in a signed bigint.
ANONYMOUS_ID_LIMIT = 2**53
_IDENTIFIED_BIT = 1 << 62


def user_id_for_identity(identity: str) -> int:
    """The same identity always maps to the same user id (within and across environments)."""
    digest = hashlib.sha256(identity.encode("utf-8")).digest()
    return (int.from_bytes(digest[:8], "big") & (_IDENTIFIED_BIT - 1)) | _IDENTIFIED_BIT


def is_identified_user_id(user_id: int) -> bool:
    return user_id >= _IDENTIFIED_BIT
