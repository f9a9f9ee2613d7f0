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


def user_id_for_anonymous_id(anonymous_id: str) -> int:
    """An anonymous user id for another tool's anonymous id (Segment's `anonymousId`, any string).

    The same string always maps to the same id, in the anonymous range (below 2**53), so heap.js's
    random ids and these share one space and identified ids never meet either.
    """
    digest = hashlib.sha256(b"anonymous:" + anonymous_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % (ANONYMOUS_ID_LIMIT - 1) + 1
