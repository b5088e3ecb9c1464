"""Who may call what: scoped bearer tokens, base-path allowlists, the policy that decides.

The front door (REST) and the gRPC transports only extract the credential and the operation;
:class:`~pyserving.security.policy.AccessPolicy` decides, for every protocol alike.
"""
