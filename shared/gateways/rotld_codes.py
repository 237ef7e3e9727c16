"""ROTLD result codes: the one table the gateway maps answers with, each code with its source.

Sources:
  [ref]     ROTLD's REST API 2.0 documentation (https://rest2-test.rotld.ro:6080/) and the public
            clients alinchican/rotld-rest-client and agilegeeks/rotld-sdk-php (codes seen there)
  [clients] 10002 is read two ways by public code: "unknown command" in one module, "no longer ours"
            in another; the clients alinchican/rotld-rest-client and agilegeeks/rotld-sdk-php pass any
            code but 00200 up as an error with its message. So it is proof of nothing: see
            :data:`AMBIGUOUS_CODE`.
  [ours]    our own sandbox's guess, kept for compatibility with it; no public source confirms it

A code outside this table is a business error we do not know (insufficient balance, not renewable yet,
a "taken" code we never saw): :class:`~shared.errors.RegistryRefused`, final, with the registrar's code
and message, and NOT a breaker failure. Only transport-level trouble (non-200, no envelope) is a
protocol or transient error.

No public source gives ROTLD's code for a registration of a taken name, so the gateway never depends on
one: it asks ``check-availability`` first, and "Not Available" ends the job as ``domain_unavailable``.
"""

from __future__ import annotations

from shared.errors import DomainUnavailable, NotFound, UpstreamError, ValidationRejected

SUCCESS = "00200"  # [ref]

#: result code -> (error class, the request field it names or None)
RESULT_CODES: dict[str, tuple[type[UpstreamError], str | None]] = {
    "10001": (ValidationRejected, None),  # [ref] missing parameter: data.parameter names it
    "10003": (ValidationRejected, None),  # [ref] invalid parameter value
    "10501": (ValidationRejected, "nameservers"),  # [ref] invalid nameserver
    "10502": (ValidationRejected, "nameservers"),  # [ref] in-zone nameserver without glue
    "50002": (ValidationRejected, "domain"),  # [ref] invalid domain (domain-info: see NOT_FOUND)
    "50014": (ValidationRejected, "domain_password"),  # [ref] bad domain password
    "50006": (NotFound, None),  # [ref] contact not found
    "50102": (ValidationRejected, "name"),  # [ref] contact validation
    "50106": (ValidationRejected, "person_type"),  # [ref]
    "50122": (ValidationRejected, "address"),  # [ref]
    "50125": (ValidationRejected, "email"),  # [ref]
    "50129": (ValidationRejected, "phone"),  # [ref]
    "50137": (ValidationRejected, "cnp_fiscal_code"),  # [ref]
    "50300": (DomainUnavailable, None),  # [ours] already registered (check-availability decides first)
    "50301": (NotFound, None),  # [ours] not in our account
}

#: Answers to ``domain-info`` (and the other commands on a domain of ours: renew, reset-ns) that mean "no
#: such domain in our account": NotFound; a reconciliation reads them as "our create never happened",
#: never as a rejection of the job.
NOT_FOUND_ON_INFO: dict[str, str] = {
    "50002": "[ref] invalid domain: what the registry answers for a domain that does not exist",
    "50301": "[ours] not in our account",
}

#: [clients] Read as "unknown command" and as "no longer ours" by public code. On a command about a domain
#: of ours it is NeedsOperator (the job waits for a human, re-reading now and then): reading it as "not
#: found" would let a register's reconciliation send a second create, or sync call a domain of ours gone.
AMBIGUOUS_CODE = "10002"
