# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.
"""Server ids as Nova spells them, and how the service counts an image.

Pure, standard library only. An image's ``instance_uuid`` is metadata
anyone with the image can set (an import, a copy, a hand edit): it may
come ``CAA9F068-...`` or `` caa9f068-...`` while Nova's server list
and ``GET /servers/{id}`` speak lowercase hyphenated UUIDs. Every id
compared (from an image, a list, the user) goes through
:func:`canonical_server_id` first, so one spelling can never make an
existing server look missing.
"""

from __future__ import annotations

import re
import uuid

# 32 hex digits, with the hyphens of 8-4-4-4-12 or none: what Nova's
# is_uuid_like takes, less the braces and "urn:uuid:" nobody writes.
_UUID_RE = re.compile(
    r"[0-9a-fA-F]{8}(-?)[0-9a-fA-F]{4}\1[0-9a-fA-F]{4}\1[0-9a-fA-F]{4}"
    r"\1[0-9a-fA-F]{12}\Z"
)

# The Image API statuses of an image still being made (the service may
# yet count it) and of one that failed (it never will).
IN_PROGRESS_STATUSES = frozenset(
    {"queued", "saving", "uploading", "importing"}
)
FAILED_STATUSES = frozenset({"killed", "deleted", "pending_delete", "error"})

COUNTED = "yes"
NOT_COUNTED = "no"
IN_PROGRESS = "in progress"
FAILED = "failed"


def canonical_server_id(value: object) -> str | None:
    """``value`` as Nova spells a server id (lowercase, hyphenated), or
    None when it is not a UUID at all.

    Surrounding blanks are dropped and upper case lowered; anything
    else (a truncated id, a name, a number) is None: no server can be
    looked up, or ruled out, by it.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not _UUID_RE.match(text):
        return None
    return str(uuid.UUID(text))


def same_server(left: object, right: object) -> bool:
    """Whether two spellings name one server (False if either is not
    a server id)."""
    found = canonical_server_id(left)
    return found is not None and found == canonical_server_id(right)


def count_state(marked: bool, status: object) -> str:
    """What the *Counted* column says of an image.

    ``yes`` only when the service counts it against the retention: it
    carries the marker AND is ACTIVE (the service counts, and prunes,
    nothing else). A marked image still being made is ``in progress``;
    one that failed (killed, deleted, pending_delete, error) is
    ``failed``: the service will never count or delete it. Without the
    marker, ``no``.
    """
    if not marked:
        return NOT_COUNTED
    text = str(status or "").lower()
    if text == "active":
        return COUNTED
    if text in IN_PROGRESS_STATUSES:
        return IN_PROGRESS
    if text in FAILED_STATUSES:
        return FAILED
    return NOT_COUNTED
