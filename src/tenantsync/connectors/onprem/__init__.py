"""The on-premises Exchange connection kind (``exchange_onprem``): Active Directory over
LDAP, read the way an Exchange organization keeps mailboxes, groups and permissions there.

Modules: ``kind`` (parameters, health checks, the kind), ``ldap`` (ldap3 connection, paged
searches, DirSync), ``entries`` (AD entries as the engine's entities), ``security``
(security descriptors as permission entries), ``directory`` and ``permissions`` (the
directory and permission sources).
"""
