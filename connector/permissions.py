"""What the integration user may see, read from its own UserPermissionAccess.

UserPermissionAccess describes the running user's permissions and needs no View Setup to read, so Retour asks
it directly instead of guessing from profile or permission set names (which would need setup access).
"""

from __future__ import annotations

from typing import Any

USER_PERMISSIONS = "SELECT PermissionsQueryAllFiles, PermissionsViewAllData FROM UserPermissionAccess"


def user_permissions(client: Any) -> dict[str, bool]:
    """``{"PermissionsQueryAllFiles": bool, "PermissionsViewAllData": bool}`` for the integration user."""
    page = client.query_page(USER_PERMISSIONS, object_name="ContentNote", include_deleted=False)
    record = (page.get("records") or [{}])[0]
    return {k: bool(v) for k, v in record.items() if k.startswith("Permissions")}


def sees_every_note(client: Any) -> bool:
    """Query All Files: without it, even with View All Data, ``SELECT … FROM ContentNote`` returns only the notes
    the user owns or can see, so a note missing from such a query is not a deleted note."""
    return user_permissions(client).get("PermissionsQueryAllFiles", False)
