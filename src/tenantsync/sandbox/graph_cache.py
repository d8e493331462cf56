"""Users as ready JSON bytes per `$select`, so a page of 999 users is mostly a join.

An entry is dropped as soon as the tenant's change log records a change to that user,
so a cached rendering is never served after the user changed.
"""

from __future__ import annotations

import json
from collections import OrderedDict

from tenantsync.sandbox.entities import User
from tenantsync.sandbox.graph_render import USER_DEFAULT_SELECT, render_user
from tenantsync.sandbox.tenantdata import TenantData

MAX_VARIANTS = 4


class UserJsonCache:
    """Rendered users of one tenant, for the few `$select` lists clients actually send."""

    def __init__(self) -> None:
        self._variants: OrderedDict[tuple[str, ...], dict[str, bytes]] = OrderedDict()
        self._seq = 0

    def user_json(self, tenant: TenantData, user: User, select: tuple[str, ...] | None) -> bytes:
        """`render_user(user, select)` as compact JSON bytes."""
        self._forget_changed(tenant)
        key = select or USER_DEFAULT_SELECT
        variant = self._variants.get(key)
        if variant is None:
            variant = self._variants[key] = {}
            if len(self._variants) > MAX_VARIANTS:
                self._variants.popitem(last=False)
        else:
            self._variants.move_to_end(key)
        data = variant.get(user.id)
        if data is None:
            rendered = render_user(user, key)
            data = json.dumps(rendered, ensure_ascii=False, separators=(",", ":")).encode()
            variant[user.id] = data
        return data

    def _forget_changed(self, tenant: TenantData) -> None:
        seq = tenant.log.seq
        if seq == self._seq:
            return
        if seq < self._seq:
            self._variants.clear()
        else:
            for change in tenant.log.between(self._seq, seq):
                if change.collection == "users":
                    for variant in self._variants.values():
                        variant.pop(change.object_id, None)
        self._seq = seq
