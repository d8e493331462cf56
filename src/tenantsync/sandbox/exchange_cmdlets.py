"""The emulated Exchange Online cmdlets: parameters in, output objects out.

Get-Mailbox, Get-MailboxPermission, Get-RecipientPermission, Get-DistributionGroup,
Get-DistributionGroupMember, Get-DynamicDistributionGroup,
Get-DynamicDistributionGroupMember, Get-MailboxFolderPermission.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from typing import Any, overload

from tenantsync.sandbox import exchange_render as render
from tenantsync.sandbox.entities import (
    ANONYMOUS_TRUSTEE,
    DEFAULT_TRUSTEE,
    DynamicGroup,
    Group,
    User,
    rights_names,
)
from tenantsync.sandbox.errors import ExchangeError, object_not_found_exchange
from tenantsync.sandbox.opath import OpathError, compile_filter
from tenantsync.sandbox.recipients import filter_properties, type_details
from tenantsync.sandbox.tenant import SandboxTenant

Rows = Sequence[dict[str, Any]]
Cmdlet = Callable[[SandboxTenant, dict[str, Any]], Rows]


class RenderedOnRead(Sequence[dict[str, Any]]):
    """Output objects rendered when read, so a page of a large result renders only itself."""

    def __init__(self, users: list[User], render_one: Callable[[User], dict[str, Any]]) -> None:
        self._users = users
        self._render = render_one

    def __len__(self) -> int:
        return len(self._users)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self._render(u) for u in self._users[index]]
        return self._render(self._users[index])


DEFAULT_RESULT_SIZE = 1000
MORE_RESULTS = (
    "There are more results available than are currently displayed. To view them, "
    "increase the value for the ResultSize parameter."
)
# (user, rights, deny) of the inherited entries every Exchange Online mailbox shows.
INHERITED = (
    ("{f}\\Administrator", ["FullAccess"], True),
    ("{f}\\Domain Admins", ["FullAccess"], True),
    ("{f}\\Enterprise Admins", ["FullAccess"], True),
    ("{f}\\Organization Management", ["FullAccess"], True),
    ("NT AUTHORITY\\SYSTEM", ["FullAccess"], False),
    ("NT AUTHORITY\\NETWORK SERVICE", ["ReadPermission"], False),
    ("{f}\\Exchange Servers", ["FullAccess", "ReadPermission"], False),
    (
        "{f}\\Exchange Trusted Subsystem",
        ["FullAccess", "DeleteItem", "ReadPermission", "ChangePermission", "ChangeOwner"],
        False,
    ),
    ("{f}\\Managed Availability Servers", ["ReadPermission"], False),
    (
        "{f}\\Organization Management",
        ["DeleteItem", "ReadPermission", "ChangePermission", "ChangeOwner"],
        False,
    ),
)
# Role groups Exchange Online shows as explicit entries, without any prefix: a reader
# must know them as system principals, not report them as unknown trustees.
EXPLICIT_SYSTEM = (("Discovery Management", ["FullAccess"]),)
NOT_FOUND_TYPE = "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"
WELL_KNOWN_SIDS = {"NT AUTHORITY\\SYSTEM": "S-1-5-18", "NT AUTHORITY\\NETWORK SERVICE": "S-1-5-20"}


def server_name(tenant: SandboxTenant) -> str:
    """The domain controller name Exchange quotes in not-found errors."""
    return f"{tenant.forest[:6]}DC001.{tenant.forest}.PROD.OUTLOOK.COM"


def _missing(name: str) -> ExchangeError:
    return ExchangeError(
        400,
        "System.Management.Automation.ParameterBindingException",
        f"Cannot process command because of one or more missing mandatory parameters: {name}.",
    )


def _mailbox(tenant: SandboxTenant, params: dict[str, Any]) -> User:
    identity = params.get("Identity")
    if not identity:
        raise _missing("Identity")
    found = tenant.recipient(str(identity))
    if not isinstance(found, User) or found.mailbox is None:
        raise object_not_found_exchange(str(identity), server_name(tenant))
    return found


def _types(params: dict[str, Any]) -> set[str] | None:
    raw = params.get("RecipientTypeDetails")
    if raw is None:
        return None
    values = raw if isinstance(raw, list) else str(raw).split(",")
    return {str(v).strip().lower() for v in values if str(v).strip()}


def get_mailbox(tenant: SandboxTenant, params: dict[str, Any]) -> Rows:
    """Get-Mailbox [-Identity] [-RecipientTypeDetails] [-Filter] [-ResultSize]."""
    if params.get("Identity"):
        return [render.mailbox(tenant, _mailbox(tenant, params))]
    types = _types(params)
    predicate = None
    if params.get("Filter"):
        try:
            predicate = compile_filter(str(params["Filter"]))
        except OpathError as exc:
            raise ExchangeError(
                400,
                "System.Management.Automation.ParameterBindingException",
                f"Cannot bind parameter 'Filter' to the target. {exc}",
            ) from None
    users: list[User] = []
    for uid in tenant.user_ids:
        user = tenant.users[uid]
        if user.mailbox is None:
            continue
        if types is not None and type_details(user).lower() not in types:
            continue
        if predicate is not None:
            sobo = [render.recipient_name(tenant, r) for r in user.send_on_behalf]
            if not predicate(filter_properties(user, sobo)):
                continue
        users.append(user)
    return RenderedOnRead(users, lambda user: render.mailbox(tenant, user))


def get_mailbox_permission(tenant: SandboxTenant, params: dict[str, Any]) -> Rows:
    """Get-MailboxPermission -Identity [-User]: SELF, explicit and inherited entries."""
    user = _mailbox(tenant, params)
    ident = user.mail_nickname
    rows: list[dict[str, Any]] = [
        render.permission(
            ident,
            render.SELF,
            "S-1-5-10",
            ["FullAccess", "ReadPermission"],
            inherited=False,
            deny=False,
        )
    ]
    if user.mailbox == "shared":
        rows.append(
            render.permission(
                ident,
                render.SELF,
                "S-1-5-10",
                ["FullAccess", "ExternalAccount", "ReadPermission"],
                inherited=False,
                deny=False,
                inheritance="None",
            )
        )
    for ref, flags, deny in tenant.full_access.get(user.id, []):
        shown, sid = render.trustee(tenant, ref)
        rows.append(
            render.permission(ident, shown, sid, rights_names(flags), inherited=False, deny=deny)
        )
    for name, rights in EXPLICIT_SYSTEM:
        sid = f"S-1-5-21-3309621960-{zlib.crc32(name.encode())}-1112"
        rows.append(render.permission(ident, name, sid, rights, inherited=False, deny=False))
    for name, rights, deny in INHERITED:
        shown = name.format(f=tenant.forest)
        sid = WELL_KNOWN_SIDS.get(shown, f"S-1-5-21-3309621960-{zlib.crc32(name.encode())}-1111")
        rows.append(render.permission(ident, shown, sid, rights, inherited=True, deny=deny))
    wanted = params.get("User")
    if wanted:
        target = tenant.recipient(str(wanted))
        names = {str(wanted).lower()}
        if isinstance(target, User):
            names.add(target.user_principal_name.lower())
        elif isinstance(target, Group):
            names.add(target.display_name.lower())
        rows = [r for r in rows if str(r["User"]).lower() in names]
    return rows


def get_recipient_permission(tenant: SandboxTenant, params: dict[str, Any]) -> Rows:
    """Get-RecipientPermission [-Identity] [-Trustee] [-AccessRights] [-ResultSize]."""
    mailboxes = (
        [_mailbox(tenant, params)]
        if params.get("Identity")
        else [tenant.users[u] for u in tenant.user_ids if tenant.users[u].mailbox is not None]
    )
    rows: list[dict[str, Any]] = []
    for user in mailboxes:
        ident = user.mail_nickname
        rows.append(render.recipient_permission(ident, render.SELF, "S-1-5-10", deny=False))
        for ref, deny in tenant.send_as.get(user.id, []):
            shown, sid = render.trustee(tenant, ref)
            rows.append(render.recipient_permission(ident, shown, sid, deny=deny))
    wanted = params.get("Trustee")
    if wanted:
        target = tenant.recipient(str(wanted))
        key = target.user_principal_name if isinstance(target, User) else str(wanted)
        rows = [r for r in rows if str(r["Trustee"]).lower() == key.lower()]
    return rows


def _group(tenant: SandboxTenant, params: dict[str, Any]) -> Group:
    identity = params.get("Identity")
    if not identity:
        raise _missing("Identity")
    found = tenant.recipient(str(identity))
    if not isinstance(found, Group) or found.kind not in ("distribution", "mail_security"):
        raise object_not_found_exchange(str(identity), server_name(tenant))
    return found


def get_distribution_group(tenant: SandboxTenant, params: dict[str, Any]) -> Rows:
    """Get-DistributionGroup [-Identity] [-ResultSize] (not Microsoft 365 groups)."""
    if params.get("Identity"):
        return [render.group(tenant, _group(tenant, params))]
    return [
        render.group(tenant, g)
        for g in tenant.groups.values()
        if g.kind in ("distribution", "mail_security")
    ]


def get_distribution_group_member(tenant: SandboxTenant, params: dict[str, Any]) -> Rows:
    """Get-DistributionGroupMember -Identity: direct mail-enabled members."""
    grp = _group(tenant, params)
    rows: list[dict[str, Any]] = []
    for mid in grp.members:
        obj: User | Group | None = tenant.users.get(mid) or tenant.groups.get(mid)
        if isinstance(obj, Group) and not obj.mail_enabled:
            continue
        if obj is not None:
            rows.append(render.member(tenant, obj))
    return rows


def _dynamic(tenant: SandboxTenant, params: dict[str, Any]) -> DynamicGroup:
    identity = params.get("Identity")
    if not identity:
        raise _missing("Identity")
    found = tenant.dynamic_group(str(identity))
    if found is None:
        raise object_not_found_exchange(str(identity), server_name(tenant))
    return found


def get_dynamic_distribution_group(tenant: SandboxTenant, params: dict[str, Any]) -> Rows:
    """Get-DynamicDistributionGroup [-Identity]."""
    if params.get("Identity"):
        return [render.dynamic_group(tenant, _dynamic(tenant, params))]
    return [render.dynamic_group(tenant, d) for d in tenant.dynamic_groups.values()]


def get_dynamic_distribution_group_member(tenant: SandboxTenant, params: dict[str, Any]) -> Rows:
    """Get-DynamicDistributionGroupMember -Identity: the filter's current matches."""
    dyn = _dynamic(tenant, params)
    return [render.member(tenant, u) for u in tenant.dynamic_members(dyn.id)]


def get_mailbox_folder_permission(tenant: SandboxTenant, params: dict[str, Any]) -> Rows:
    """Get-MailboxFolderPermission -Identity 'mailbox:\\<localized Calendar>' [-User]."""
    identity = str(params.get("Identity") or "")
    if not identity:
        raise _missing("Identity")
    mailbox_key, sep, folder = identity.partition(":\\")
    user = _mailbox(tenant, {"Identity": mailbox_key})
    if not sep or folder.lower() != render.calendar_folder(user).lower():
        raise ExchangeError(
            404,
            NOT_FOUND_TYPE,
            f"The operation couldn't be performed because '{identity}' couldn't be found.",
        )
    entries = tenant.calendar_permissions.get(user.id, [])
    explicit = {ref: (role, flags) for ref, role, flags in entries}
    default_role = explicit.pop(DEFAULT_TRUSTEE, ("AvailabilityOnly", 0))
    anonymous_role = explicit.pop(ANONYMOUS_TRUSTEE, ("None", 0))
    rows: list[dict[str, Any]] = [
        render.folder_permission(tenant, user, DEFAULT_TRUSTEE, *default_role),
        render.folder_permission(tenant, user, ANONYMOUS_TRUSTEE, *anonymous_role),
    ]
    rows += [
        render.folder_permission(tenant, user, ref, role, flags)
        for ref, (role, flags) in explicit.items()
    ]
    wanted = params.get("User")
    if wanted:
        target = tenant.recipient(str(wanted))
        shown = target.display_name if isinstance(target, User | Group) else str(wanted)
        rows = [r for r in rows if str(r["User"]).lower() == shown.lower()]
    return rows


def get_mailbox_folder_statistics(tenant: SandboxTenant, params: dict[str, Any]) -> Rows:
    """Get-MailboxFolderStatistics -Identity -FolderScope Calendar: the (localized) calendar
    folder, which Get-MailboxFolderPermission's identity must name."""
    user = _mailbox(tenant, {"Identity": params.get("Identity")})
    scope = str(params.get("FolderScope") or "All").lower()
    folder = render.calendar_folder(user)
    if scope not in ("all", "calendar"):
        return []
    return [
        {
            "Name": folder,
            "FolderPath": f"/{folder}",
            "FolderType": "Calendar",
            "Identity": f"{user.mail_nickname}\\{folder}",
            "ItemsInFolder": len(tenant.calendar(user.id)),
        }
    ]


CMDLETS: dict[str, Cmdlet] = {
    "get-mailbox": get_mailbox,
    "get-mailboxpermission": get_mailbox_permission,
    "get-recipientpermission": get_recipient_permission,
    "get-distributiongroup": get_distribution_group,
    "get-distributiongroupmember": get_distribution_group_member,
    "get-dynamicdistributiongroup": get_dynamic_distribution_group,
    "get-dynamicdistributiongroupmember": get_dynamic_distribution_group_member,
    "get-mailboxfolderpermission": get_mailbox_folder_permission,
    "get-mailboxfolderstatistics": get_mailbox_folder_statistics,
}
CMDLET_NAMES = {
    name.lower(): name
    for name in (
        "Get-Mailbox",
        "Get-MailboxPermission",
        "Get-RecipientPermission",
        "Get-DistributionGroup",
        "Get-DistributionGroupMember",
        "Get-DynamicDistributionGroup",
        "Get-DynamicDistributionGroupMember",
        "Get-MailboxFolderPermission",
        "Get-MailboxFolderStatistics",
    )
}
PARAMETERS: dict[str, set[str]] = {
    "get-mailbox": {
        "identity",
        "resultsize",
        "recipienttypedetails",
        "filter",
        "includegrantsendonbehalftowithdisplaynames",
        "properties",
    },
    "get-mailboxpermission": {"identity", "user", "resultsize", "includeunresolvedpermissions"},
    "get-recipientpermission": {"identity", "trustee", "accessrights", "resultsize"},
    "get-distributiongroup": {"identity", "resultsize", "filter", "recipienttypedetails"},
    "get-distributiongroupmember": {"identity", "resultsize"},
    "get-dynamicdistributiongroup": {"identity", "resultsize", "filter"},
    "get-dynamicdistributiongroupmember": {"identity", "resultsize"},
    "get-mailboxfolderpermission": {"identity", "user"},
    "get-mailboxfolderstatistics": {"identity", "folderscope"},
}
# Cmdlets whose output is capped by -ResultSize (default 1000).
RESULT_SIZED = {
    "get-mailbox",
    "get-recipientpermission",
    "get-distributiongroup",
    "get-distributiongroupmember",
    "get-dynamicdistributiongroup",
    "get-dynamicdistributiongroupmember",
}


def invoke(tenant: SandboxTenant, name: str, params: dict[str, Any]) -> tuple[Rows, list[str]]:
    """Run a cmdlet: (output objects, warnings); errors raise ExchangeError."""
    key = name.lower()
    cmdlet = CMDLETS.get(key)
    if cmdlet is None:
        raise ExchangeError(
            400,
            "System.Management.Automation.CommandNotFoundException",
            f"The term '{name}' is not recognized as the name of a cmdlet, "
            "function, script file, or operable program.",
        )
    for param in params:
        if param.lower() not in PARAMETERS[key]:
            raise ExchangeError(
                400,
                "System.Management.Automation.ParameterBindingException",
                f"A parameter cannot be found that matches parameter name '{param}'.",
            )
    normalized = {p[:1].upper() + p[1:]: v for p, v in params.items()}
    by_lower = {p.lower(): v for p, v in params.items()}
    for canonical in (
        "Identity",
        "User",
        "Trustee",
        "Filter",
        "RecipientTypeDetails",
        "ResultSize",
    ):
        if canonical.lower() in by_lower:
            normalized[canonical] = by_lower[canonical.lower()]
    rows = cmdlet(tenant, normalized)
    warnings: list[str] = []
    if key in RESULT_SIZED:
        size = str(normalized.get("ResultSize", DEFAULT_RESULT_SIZE))
        if size.lower() != "unlimited":
            try:
                limit = int(size)
            except ValueError:
                raise ExchangeError(
                    400,
                    "System.Management.Automation.ParameterBindingException",
                    f"Cannot bind parameter 'ResultSize' to the target. "
                    f"'{size}' is not a valid value.",
                ) from None
            if len(rows) > limit:
                rows = rows[:limit]
                warnings.append(MORE_RESULTS)
    return rows, warnings
