"""Every default value regq uses, in one place, each with the reason it has that value."""

from __future__ import annotations

# --- where things live -------------------------------------------------------------------------------
#: The embedded default keeps its SQLite file and logs under ./var so a clone stays self-contained.
VAR_DIR = "var"
#: SQLite for the embedded default: nothing to install; production sets REGQ_DATABASE_URL to Postgres.
DATABASE_URL = "sqlite:///var/regq.db"
#: A running embedded stack (``make up``) writes its settings here, under the var dir it runs in, and
#: removes the file when it stops; ``regq`` run from the same directory reads it below the environment
#: (REGQ_STACK_FILE names another file, empty: none). Beside the stack's other state, so two stacks in two
#: var dirs (tests, benchmarks) never read each other's, and a clone stays self-contained.
STACK_FILE = "var/stack.env"
#: Key prefix for everything regq keeps in Redis, so one Redis can serve several deployments.
REDIS_PREFIX = "regq"
#: A pooled Redis connection idle this long is PINGed before use, so a dropped socket is noticed first.
REDIS_HEALTH_CHECK_SECONDS = 30

# --- Postgres connections (shared/store/database.py) -------------------------------------------------
#: Connections a process keeps open: the API's blocking work runs on anyio's threadpool (40 threads by
#: default), so up to 40 requests hold a connection at once; a smaller pool opened and closed overflow
#: connections on every burst (the cause of 16 clients being slower than 4). Opened on demand only: a
#: worker process (one task at a time) holds one or two.
DB_POOL_SIZE = 40
#: Beyond the pool, for the odd caller outside the threadpool (the event loop's own thread, a nested
#: read): they are closed on return, which is acceptable for a few.
DB_POOL_OVERFLOW = 10
#: A pooled connection is replaced after 30 min: a proxy, load balancer or failover that drops long-lived
#: connections (PgBouncer's server_lifetime is 1 h, cloud LBs 350 s-1 h idle) rarely meets one.
DB_POOL_RECYCLE_SECONDS = 1800
#: A connection that sat idle in the pool longer than this is pinged (one round trip) before use, and
#: replaced if dead: idle processes (a worker between jobs, the beat sweep) are the ones whose connections
#: die unseen (a Postgres restart, a firewall's idle timeout). A busy one (used within 10 s) is not:
#: pinging every checkout cost the API a fifth of its CPU; a connection that died under load fails one
#: statement, which invalidates the pool's older connections, and the producer path retries it once.
DB_PING_IDLE_SECONDS = 10.0

# --- upstream endpoints ------------------------------------------------------------------------------
#: Gandi's documented production base URL (the sandbox base needs its own token).
GANDI_API_URL = "https://api.gandi.net/v5"
#: ROTLD REST 2.0 live endpoint; the test registry is rest2-test.rotld.ro:6080.
ROTLD_API_URL = "https://rest2.rotld.ro:6080"
#: IANA publishes the RDAP bootstrap files here, with max-age=86400.
RDAP_BOOTSTRAP_URL = "https://data.iana.org/rdap/"
#: IANA's WHOIS server knows the referral for every TLD.
WHOIS_IANA_SERVER = "whois.iana.org:43"

# --- rates -------------------------------------------------------------------------------------------
#: Gandi documents 1000 requests per minute per source IP.
GANDI_RATE = "1000/m"
#: Up to 20 requests at once after a quiet spell is well inside Gandi's per-minute allowance.
GANDI_BURST = 20
#: ROTLD documents no figure; 5/s is a polite registry-client rate.
ROTLD_RATE = "5/s"
#: A small burst for ROTLD: a registry is stricter than a retail registrar.
ROTLD_BURST = 5
#: RDAP servers throttle hard (LACNIC ~10/min per IP); 1/s per host is safe for most of them.
RDAP_RATE = "1/s"
RDAP_BURST = 3
#: WHOIS servers answer throttling as plain text and block for minutes: stay slow.
WHOIS_RATE = "1/s"
WHOIS_BURST = 2
#: A WHOIS throttling text without a figure (PIR, CZ.NIC, DENIC): wait a minute before that host again.
WHOIS_THROTTLE_SECONDS = 60
#: The whole WHOIS answer (not each recv) must arrive within this; real answers take well under a second.
WHOIS_READ_DEADLINE_SECONDS = 15.0
#: Real WHOIS answers are a few KiB (the longest sample is about 10 KiB); more is hostile or broken.
WHOIS_MAX_RESPONSE_BYTES = 256 * 1024
#: IANA's referral for a TLD changes a few times a year: a process asks IANA once a day per TLD.
WHOIS_REFERRAL_TTL_SECONDS = 86400

# --- RDAP (shared/registrydata/rdap) ------------------------------------------------------------------
#: A refreshed IANA bootstrap copy lives here (one file per registry); the packaged snapshot otherwise.
RDAP_BOOTSTRAP_DIR = "var/rdap-bootstrap"
#: IANA serves the bootstrap with max-age=86400; a missing or unparsable Cache-Control is taken as a day.
RDAP_BOOTSTRAP_MAX_AGE_SECONDS = 86400
#: A running process looks for a newer refreshed copy this often (the maintenance task refreshes weekly).
RDAP_BOOTSTRAP_RECHECK_SECONDS = 300
#: RDAP answers are small (a domain ~10 KB, a RIR network ~100 KB); 1 MiB leaves room, stops hostile ones.
RDAP_MAX_RESPONSE_BYTES = 1024 * 1024
#: A lookup is a read: an RDAP server silent for 10 s is better skipped for the next listed one or WHOIS.
RDAP_READ_TIMEOUT_SECONDS = 10.0
#: A whole RDAP answer (at most 1 MiB) within 20 s: twice the first-byte wait, then WHOIS or the next server.
RDAP_READ_DEADLINE_SECONDS = 20.0
#: A 403/422/notice rate limit without a stated wait: LACNIC blocked for "about 5 minutes" as observed in
#: https://github.com/secynic/ipwhois/issues/99 (no RDAP server documents its block time).
RDAP_RATE_LIMIT_WAIT_SECONDS = 300.0

# --- TLD catalogue (shared/tlds) ---------------------------------------------------------------------
#: Of Gandi's ccTLDs only .eu: regq's register body carries none of the registry-specific extra fields
#: most ccTLDs need (eligibility, local presence, ID numbers), .eu needs only an EU/EEA owner country.
TLDS_GANDI_CCTLDS = ("eu",)
#: ROTLD is the .ro registry and sells only .ro (com.ro, org.ro ... are public suffixes under it).
TLDS_ROTLD = ("ro",)
#: REGQ_TLDS_EXTRA (``registrar:tld,...``) and REGQ_TLDS_DENY (``tld,...``): empty, the lists decide.
TLDS_EXTRA = ""
TLDS_DENY = ""
#: A running process looks for a newer fleet copy of the list this often, like the RDAP bootstrap.
TLDS_RECHECK_SECONDS = 300.0
#: Daily at 05:10 UTC (after the 04:40 RDAP refresh): Gandi adds TLDs at launches announced weeks ahead,
#: so a day's lag is harmless, and the whole list is a few requests against a 1000/min allowance.
TLDS_REFRESH_HOUR = 5
TLDS_REFRESH_MINUTE = 10
#: An answer with fewer gTLDs than this is partial (Gandi sells several hundred): not stored.
TLDS_MIN_GANDI_GTLDS = 100
#: GET /domain/tlds pages: 100 names per request (Gandi documents per_page but no default or maximum),
#: at most 50 pages (5000 names, ten times Gandi's list): more is a server that never ends its list.
GANDI_TLDS_PER_PAGE = 100
GANDI_TLDS_MAX_PAGES = 50

# --- circuit breaker ---------------------------------------------------------------------------------
#: 15 failed calls in a row is a dead upstream; at 28 % faults bad luck does that once in 200 million.
BREAKER_FAILURES = 15
#: The failure rate is judged over the last 100 calls (resilience4j's default): seconds of fleet traffic.
BREAKER_WINDOW_CALLS = 100
#: No rate verdict on fewer than 50 calls: at 28 % faults, 20 calls reach 50 % failed 3 times in 100.
BREAKER_MIN_CALLS = 50
#: Half the calls failing is a sick upstream (resilience4j's default); 10-30 % faults are retried instead.
BREAKER_FAILURE_RATE = 50.0
#: One minute lets an upstream restart pass; half-open probes find out cheaply if it took longer.
BREAKER_RESET_SECONDS = 60
#: One probe in half-open tests recovery without stampeding a sick upstream.
BREAKER_PROBES = 1
#: A probe that never reports (its worker died) frees its slot after this long.
BREAKER_PROBE_TIMEOUT_SECONDS = 60

# --- outbound HTTP -----------------------------------------------------------------------------------
#: Refuse loopback/private targets unless explicitly allowed (SSRF guard); the sandbox turns it on.
OUTBOUND_ALLOW_PRIVATE = False
#: A registrar that does not accept a TCP connection in 5 s is down for our purposes.
CONNECT_TIMEOUT_SECONDS = 5.0
#: Registrar writes can take a while (registry round trip); 30 s is generous without hanging a slot.
READ_TIMEOUT_SECONDS = 30.0
#: The whole answer (headers and body) within this: requests' read timeout is per socket read, so a peer
#: trickling a byte just under it would hold a worker slot forever; 60 s is the read timeout plus body time.
READ_DEADLINE_SECONDS = 60.0
#: No registrar answer we use is anywhere near 2 MiB; a larger body is hostile or broken.
MAX_RESPONSE_BYTES = 2 * 1024 * 1024
#: Retries inside one attempt: three tries in all, only for transient failures.
HTTP_TRIES = 3
#: Backoff before the 2nd and 3rd try (seconds), jittered.
HTTP_BACKOFF_SECONDS = (0.5, 1.0, 2.0)
#: Polling for the read-after-create race at Gandi: total seconds to wait for the domain to appear.
GANDI_VISIBILITY_WAIT_SECONDS = 20.0

# --- lookups: DNS, caches, singleflight (shared/registrydata/dns, cache, singleflight) ---------------
#: One A or AAAA query, every server and retry included: a resolver silent for 5 s is down for a lookup.
DNS_TIMEOUT_SECONDS = 5.0
#: One server's try within that: after 2 s of silence the query goes again (UDP loss) or to the next one.
DNS_TRY_TIMEOUT_SECONDS = 2.0
#: Registration data moves rarely (expiry once a year, statuses on transfers): an hour spares RDAP/WHOIS.
LOOKUP_DOMAIN_TTL_SECONDS = 3600
#: Nameserver addresses: most zones publish their NS glue with TTLs of an hour or more.
LOOKUP_NS_TTL_SECONDS = 3600
#: Who holds an address changes with a reallocation, months apart; RIRs throttle hardest (LACNIC ~10/min).
LOOKUP_IPREG_TTL_SECONDS = 86400
#: A "not found" may be registered a minute later: short, yet long enough to absorb a burst of repeats.
LOOKUP_NEGATIVE_TTL_SECONDS = 300
#: A singleflight leader's lease, renewed every third of it: a dead leader holds its key this long at most.
LOOKUP_FLIGHT_LEASE_SECONDS = 5.0
#: A follower waits this long for the leader: more than an RDAP exchange with its registrar hop takes.
LOOKUP_FLIGHT_WAIT_SECONDS = 20.0
#: A finished flight's result stays readable this long for its followers (they poll far more often).
LOOKUP_FLIGHT_RESULT_TTL_SECONDS = 30.0
#: Followers poll from 10 ms, growing by half each time up to 100 ms: quick hand-over, light on Redis.
LOOKUP_FLIGHT_POLL_SECONDS = (0.01, 0.1)
#: A follower whose leader failed without naming a wait tries again after this long (not at once).
LOOKUP_FLIGHT_FAILED_RETRY_SECONDS = 5.0

# --- tasks and delivery ------------------------------------------------------------------------------
#: Redis broker redelivers an unacked message after this long; every countdown stays far below it.
VISIBILITY_TIMEOUT_SECONDS = 3600
#: No re-scheduling countdown may exceed this (well under the visibility timeout).
MAX_COUNTDOWN_SECONDS = 600
#: A limiter wait up to this long is slept in place; longer ones re-schedule the task.
MAX_INLINE_WAIT_MS = 300
#: How many failed attempts (not limiter or breaker waits) a job gets before it is failed.
MAX_ATTEMPTS = 5
#: First re-try delay after a failed attempt; doubles per attempt up to MAX_COUNTDOWN_SECONDS.
RETRY_BACKOFF_SECONDS = 2.0
#: Bounds the ETA/countdown tasks a worker holds in memory.
WORKER_ETA_TASK_LIMIT = 1000
#: Celery's per-worker first-line rate limit on registrar tasks (the shared bucket is the truth).
TASK_RATE_LIMIT = "50/s"

# --- idempotency and recovery ------------------------------------------------------------------------
#: A claimed job's lease; renewed while the job runs, so a dead worker's job is free within a minute.
LEASE_SECONDS = 30
#: The maintenance sweep runs this often.
SWEEP_INTERVAL_SECONDS = 15
#: A job queued/waiting this long past due may have lost its message (a retry held by a killed worker):
#: republished. Short, since an extra message is harmless (claim by key); tens of seconds cover clock skew.
REPUBLISH_GRACE_SECONDS = 20
#: The sweep's doubling wait between republishes of a still undelivered job stops here: with the 15 s
#: sweep, a due job gets a new message at least once a minute, and a long backlog a handful more.
REPUBLISH_AFTER_SECONDS = 45
#: Keys and outcomes are kept this long, then purged.
RETENTION_DAYS = 30

# --- operations --------------------------------------------------------------------------------------
#: Nightly renewal scan at 02:00 UTC (minute hour day-of-month month day-of-week), outside European
#: business hours and before the 03:15 purge.
RENEWAL_SCAN_CRON = "0 2 * * *"
#: Due domains read, and renew jobs submitted, per batch: one keyset page, one INSERT, one broker connection.
RENEWAL_SCAN_BATCH = 500
#: The scan's fleet-wide lock lapses this long after its holder died; renewed every third of it meanwhile.
RENEWAL_SCAN_LOCK_SECONDS = 60
#: Old outcomes are purged at 03:15 UTC, after the renewal scan and outside business hours.
PURGE_HOUR = 3
PURGE_MINUTE = 15
#: Renew domains expiring within this many days: a month leaves room for a failed renew to be fixed.
RENEW_WINDOW_DAYS = 30
#: The demo publishes this many jobs.
DEMO_JOBS = 200

# --- registry read-back and reconciliation ---------------------------------------------------------------
#: How long a gateway reads a renewed domain back waiting for the new expiry within one delivery; ROTLD
#: answers domain-info at once in every public client, so lag beyond a few seconds is a registry backlog.
REGISTRY_READBACK_SECONDS = 10.0
#: A registry still showing the old expiry after an accepted renewal is read again this often.
REGISTRY_LAG_RECHECK_SECONDS = 60
#: After this long the wait says an operator should look (the job still never renews twice).
REGISTRY_LAG_LIMIT_SECONDS = 3600
#: A reconciliation the registry answered ambiguously is re-read this often while it waits for a human.
NEEDS_OPERATOR_RECHECK_SECONDS = 600
#: A started transfer-in is read again this often (one status read, one limiter token per follow-up): a
#: transfer takes minutes (ROTLD, an answered FOA) to 5 days (ICANN's auto-ack); 5 minutes shows the end
#: soon enough and costs ~1,440 reads per 5-day transfer. Capped by MAX_COUNTDOWN_SECONDS.
TRANSFER_FOLLOW_SECONDS = 300.0
#: A transfer still pending after this many days fails ("no answer from the registry"): Gandi/ICANN
#: auto-acknowledge after 5 days, a ROTLD authorization key expires 14 days after it was issued.
TRANSFER_MAX_DAYS = 10.0
#: A lookup sub-step that was throttled or down without saying for how long is asked again after this.
LOOKUP_RETRY_AFTER_SECONDS = 30
#: The weekly RDAP bootstrap refresh: Sunday 04:40 UTC, away from the 02:00 renewals and 03:15 purge;
#: IANA's files change a few times a year and are served with max-age=86400.
RDAP_REFRESH_WEEKDAY = "sun"
RDAP_REFRESH_HOUR = 4
RDAP_REFRESH_MINUTE = 40

# --- exporter (regq exporter) ------------------------------------------------------------------------
#: 9808 is free in Prometheus's default port allocation list, next to other queue exporters.
EXPORTER_PORT = 9808
#: Loopback only unless asked: the metrics name providers and queues an outsider has no business seeing.
EXPORTER_BIND = "127.0.0.1"

# --- Flower (celery flower) ---------------------------------------------------------------------------
#: Flower's Tasks page columns (``--tasks_columns``; its default is name, uuid, state, received, runtime,
#: worker): ``kwargs`` holds the job key, domain and registrar (the message carries nothing personal:
#: tasks.publish), ``result`` a success's summary, ``exception`` why a task failed or is retried, ``eta``
#: when a waiting job runs again. No ``args``: every job message passes kwargs only (``()``).
FLOWER_TASKS_COLUMNS = "name,state,kwargs,result,exception,retries,eta,received,runtime,worker,uuid"
#: Flower's own default port, the one the README's examples use: ``make up`` takes it (and API_PORT,
#: EXPORTER_PORT) when free and falls back to a free port, printed in its banner, when not.
FLOWER_PORT = 5555

# --- HTTP API (regq api) -----------------------------------------------------------------------------
#: Loopback only unless asked: production puts a TLS-terminating proxy in front (--forwarded-allow-ips).
API_BIND = "127.0.0.1"
#: 8080: the usual unprivileged HTTP port, free next to Flower (5555) and the exporter (9808).
API_PORT = 8080
#: Per token, fleet-wide (Redis token bucket ``api:<name>``): a billing panel's bursts at month start
#: (a few hundred orders) fit in the burst; a batch request is one request, so bulk work goes in batches.
API_RATE = "20/s"
API_BURST = 100
#: One job is a few hundred bytes (a register with its contact under 2 KiB): 64 KiB refuses garbage early.
API_MAX_BODY_BYTES = 64 * 1024
#: A batch of the 10,000 lines allowed at about 800 bytes each, with room to spare.
API_MAX_BATCH_BYTES = 16 * 1024 * 1024
#: Lines in one POST /v1/jobs:batch (more: 413); submit_many commits them 500 at a time.
API_MAX_BATCH_LINES = 10_000
#: Failed authentications (a credential presented and refused) per source address, fleet-wide (bucket
#: ``api-auth:<address>``): a client with a mistyped token sees its 401s for 10 attempts, then one a
#: minute (429 + Retry-After); a guesser gets ~1,440 tries a day per address, nothing against 2**256.
API_AUTH_FAILURE_RATE = "1/m"
API_AUTH_FAILURE_BURST = 10

# --- registrar webhooks (POST /v1/hooks/{registrar}) --------------------------------------------------
#: A signed event older or newer than this is refused (stale), and an event id is remembered this long
#: past its timestamp: Stripe's default, wide enough for a registrar's retry queue and a little clock skew.
HOOK_TOLERANCE_SECONDS = 300
#: Requests to /v1/hooks/* per source address, fleet-wide (bucket ``hook:<address>``), checked before
#: anything is written: a registrar's burst of renewal events fits (the API token's figures), an
#: anonymous flood writes at most this many receipts a second per address.
HOOK_RATE = "20/s"
HOOK_BURST = 100

# --- completion webhooks (shared/webhooks, tasks/webhooks.py) ----------------------------------------
#: Callbacks to loopback/private addresses are refused (SSRF guard) unless allowed: tests and sandboxes.
WEBHOOK_ALLOW_PRIVATE = False
#: A receiver that does not accept a connection in 3 s is down for this attempt; the retry comes later.
WEBHOOK_CONNECT_TIMEOUT_SECONDS = 3.0
#: A receiver should answer at once and work later (Stripe asks the same): 10 s, then it is a failure.
WEBHOOK_READ_TIMEOUT_SECONDS = 10.0
#: Only the status of the answer matters; its body is read up to this (for the attempt row) and dropped.
WEBHOOK_MAX_RESPONSE_BYTES = 64 * 1024
#: First retry 10 s after a failed attempt, doubling per attempt (jittered) ...
WEBHOOK_RETRY_BASE_SECONDS = 10.0
#: ... up to an hour between attempts: about 30 attempts in the retry horizon.
WEBHOOK_RETRY_MAX_SECONDS = 3600.0
#: A delivery is retried for 24 h after its event (or its replay), then it is ``dead``.
WEBHOOK_RETRY_HORIZON_SECONDS = 86400.0
#: Beat's webhook sweep (lost messages, retries too far off for a message) runs this often; first
#: attempts and retries go by message, on time.
WEBHOOK_SWEEP_INTERVAL_SECONDS = 10.0
#: A retry this soon or sooner leaves by an ETA message on its schedule; a later one is left to the sweep
#: (at most a sweep interval late on a 30 min+ wait): a broker does not hold an unacked ETA message for
#: long (RabbitMQ's consumer_timeout closes the channel at 30 min; Redis redelivers it after the
#: visibility timeout, and the retry message also stays under half of REGQ_VISIBILITY_TIMEOUT_SECONDS).
WEBHOOK_RETRY_MESSAGE_MAX_SECONDS = 900.0
#: A claimed delivery is another sweeper's again after this: past the connect + read timeouts.
WEBHOOK_LEASE_SECONDS = 60.0
#: Deliveries one sweep attempts at most (the next sweep takes the rest): bounds one task's run time.
WEBHOOK_SWEEP_BATCH = 50
#: A callback URL longer than this is refused at submit (the column's size).
WEBHOOK_MAX_URL_LENGTH = 2048
#: ... and claims no new one after this many seconds of running, so sweeps stay short and overlap little.
WEBHOOK_SWEEP_BUDGET_SECONDS = 30.0
