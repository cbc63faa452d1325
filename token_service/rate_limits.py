"""Rate limits: per client address, per participant, per presentation.

Counters live in Redis (`Store.count_request`), so every gunicorn worker and
thread shares them. A client is its IP address as the first untrusted hop sees
it: `X-Forwarded-For` counts only when the direct peer is a trusted proxy
(nginx on loopback), otherwise anyone could pick a fresh address per request.
Subscribe rules are counted per identity (it comes from a token we signed) and
per presentation (`Budget`): each is a Twilio REST write, and Twilio allows an
account about 20 writes a second.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import falcon

from podium.config import ConfigError
from podium.store import Store

log = logging.getLogger(__name__)

WINDOW = 60  # seconds; limits are per minute
DEFAULT_PRESENTATIONS_PER_MINUTE = 10
DEFAULT_TOKENS_PER_MINUTE = 120
# A page asks up to 4 times per connection (it retries while Twilio does not
# know the participant yet): room for a few reconnections a minute.
DEFAULT_SUBSCRIBE_RULES_PER_MINUTE = 12
# Half of Twilio's ~20 writes/s per account: two talks starting at once fit.
DEFAULT_SUBSCRIBE_RULES_PER_PRESENTATION_PER_SECOND = 10
# The local backend has no REST write budget to protect: off, so an audience of
# hundreds pressing Join in the same seconds is never refused (bench/media's join
# storm: 150 joins in 10 s ran out of a page's retries at 10 a second).
LOCAL_SUBSCRIBE_RULES_PER_PRESENTATION_PER_SECOND = 0
DEFAULT_TRUSTED_PROXIES = '127.0.0.1,::1'
# Audience interaction, per identity (an attendee's access token), not address:
# a lecture hall behind one NAT is hundreds of people.
DEFAULT_QUESTIONS_PER_MINUTE = 10
DEFAULT_VOTES_PER_MINUTE = 300  # upvotes and poll ballots, toggles included
DEFAULT_HANDS_PER_MINUTE = 30
DEFAULT_REACTIONS_PER_SECOND = 10
# One IPv6 subscriber usually gets a whole /64, so a /64 is one client.
IPV6_CLIENT_PREFIX = 64

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(raw: str, name: str) -> tuple[Network, ...]:
    """Return the networks in a comma-separated list of addresses or CIDRs."""
    networks = []
    for item in raw.split(','):
        item = item.strip()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(
                f'{name} must list IP addresses or networks such as '
                f'127.0.0.1,::1,10.0.0.0/8; {item!r} is neither'
            ) from None
    return tuple(networks)


@dataclass(frozen=True)
class RateLimitSettings:
    """Requests per client address, identity or presentation; 0 turns a limit off."""

    presentations_per_minute: int = DEFAULT_PRESENTATIONS_PER_MINUTE
    tokens_per_minute: int = DEFAULT_TOKENS_PER_MINUTE
    # Per identity and presentation, every authenticated request.
    subscribe_rules_per_minute: int = DEFAULT_SUBSCRIBE_RULES_PER_MINUTE
    # Per presentation, the requests that do reach the Rooms API.
    subscribe_rules_per_presentation_per_second: int = (
        DEFAULT_SUBSCRIBE_RULES_PER_PRESENTATION_PER_SECOND
    )
    trusted_proxies: tuple[Network, ...] = field(
        default_factory=lambda: parse_networks(DEFAULT_TRUSTED_PROXIES, '')
    )
    questions_per_minute: int = DEFAULT_QUESTIONS_PER_MINUTE
    votes_per_minute: int = DEFAULT_VOTES_PER_MINUTE
    hands_per_minute: int = DEFAULT_HANDS_PER_MINUTE
    reactions_per_second: int = DEFAULT_REACTIONS_PER_SECOND

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, backend: str = 'twilio'
    ) -> RateLimitSettings:
        """Read the limits; `backend` sets the per-presentation subscribe default."""
        env = os.environ if environ is None else environ

        def per_minute(name: str, default: int, per: str = 'minute') -> int:
            raw = env.get(name, '').strip()
            if not raw:
                return default
            if not raw.isdigit() or int(raw) > 1_000_000:
                raise ConfigError(
                    f'{name} must be a whole number of requests per {per} '
                    f'(0 turns the limit off), got {raw!r}'
                )
            return int(raw)

        proxies = env.get('PODIUM_TRUSTED_PROXIES', DEFAULT_TRUSTED_PROXIES)
        return cls(
            presentations_per_minute=per_minute(
                'PODIUM_RATE_LIMIT_PRESENTATIONS', DEFAULT_PRESENTATIONS_PER_MINUTE
            ),
            tokens_per_minute=per_minute(
                'PODIUM_RATE_LIMIT_TOKENS', DEFAULT_TOKENS_PER_MINUTE
            ),
            subscribe_rules_per_minute=per_minute(
                'PODIUM_RATE_LIMIT_SUBSCRIBE_RULES', DEFAULT_SUBSCRIBE_RULES_PER_MINUTE
            ),
            subscribe_rules_per_presentation_per_second=per_minute(
                'PODIUM_RATE_LIMIT_SUBSCRIBE_RULES_PER_PRESENTATION',
                DEFAULT_SUBSCRIBE_RULES_PER_PRESENTATION_PER_SECOND
                if backend == 'twilio'
                else LOCAL_SUBSCRIBE_RULES_PER_PRESENTATION_PER_SECOND,
                per='second',
            ),
            trusted_proxies=parse_networks(proxies, 'PODIUM_TRUSTED_PROXIES'),
            questions_per_minute=per_minute(
                'PODIUM_RATE_LIMIT_QUESTIONS', DEFAULT_QUESTIONS_PER_MINUTE
            ),
            votes_per_minute=per_minute(
                'PODIUM_RATE_LIMIT_VOTES', DEFAULT_VOTES_PER_MINUTE
            ),
            hands_per_minute=per_minute(
                'PODIUM_RATE_LIMIT_HANDS', DEFAULT_HANDS_PER_MINUTE
            ),
            # Counted per second (a reaction storm is seconds long), same syntax.
            reactions_per_second=per_minute(
                'PODIUM_RATE_LIMIT_REACTIONS', DEFAULT_REACTIONS_PER_SECOND
            ),
        )


def _address(text: str) -> Address | None:
    text = text.strip()
    if text.startswith('[') and ']' in text:  # "[::1]:port" from some proxies
        text = text[1 : text.index(']')]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


class ClientAddress:
    """Find the address a request came from, trusting only configured proxies."""

    def __init__(self, trusted: tuple[Network, ...]):
        self._trusted = trusted

    def _is_trusted(self, address: Address) -> bool:
        return any(address in network for network in self._trusted)

    def __call__(self, req: falcon.Request) -> str:
        peer = _address(req.remote_addr or '')
        if peer is None:
            return 'unknown'
        client = peer
        if self._is_trusted(peer):
            # Walk back from the hop nearest to us; stop at the first address no
            # trusted proxy vouches for. Entries further left are client-chosen.
            hops = (req.get_header('X-Forwarded-For') or '').split(',')
            for hop in reversed(hops):
                address = _address(hop)
                if address is None:
                    break
                client = address
                if not self._is_trusted(address):
                    break
        return bucket(client)


def bucket(address: Address) -> str:
    """Return the rate-limit bucket of an address (a /64 for IPv6)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        network = ipaddress.ip_network(f'{address}/{IPV6_CLIENT_PREFIX}', strict=False)
        return str(network)
    return str(address)


@dataclass(frozen=True)
class Limit:
    scope: str  # part of the Redis key
    per_minute: int
    what: str  # for the error message
    # The route's resource counts its own requests (`RateLimiter.counted` and
    # `RateLimiter.enforce`), so the count rides in the resource's one Redis round
    # trip; the middleware then leaves the route alone.
    counted_by_resource: bool = False


class RateLimiter:
    """Falcon middleware: count requests to limited routes, answer 429 over a limit.

    `limits` maps (method, uri_template) to a Limit.
    """

    def __init__(
        self,
        store: Store,
        limits: Mapping[tuple[str, str], Limit],
        client_address: Callable[[falcon.Request], str],
        clock: Callable[[], float],
    ):
        self._store = store
        self._limits = {key: v for key, v in limits.items() if v.per_minute > 0}
        self._client_address = client_address
        self._clock = clock

    def process_resource(self, req: falcon.Request, resp, resource, params) -> None:
        limit = self._limits.get((req.method, req.uri_template))
        if limit is None or limit.counted_by_resource:
            return
        count, retry_after = self._store.count_request(
            limit.scope, self._client_address(req), WINDOW, self._clock()
        )
        self.enforce(limit, count, retry_after)

    async def process_resource_async(self, req, resp, resource, params) -> None:
        """`process_resource` on the ASGI app: the count's round trip in a thread."""
        limit = self._limits.get((req.method, req.uri_template))
        if limit is None or limit.counted_by_resource:
            return
        count, retry_after = await asyncio.to_thread(
            self._store.count_request,
            limit.scope,
            self._client_address(req),
            WINDOW,
            self._clock(),
        )
        self.enforce(limit, count, retry_after)

    def counted(self, req: falcon.Request) -> tuple[Limit, str] | None:
        """Return the limit on this request's route and its client, if limited.

        For resources that count their own requests (`Limit.counted_by_resource`).
        """
        limit = self._limits.get((req.method, req.uri_template))
        return None if limit is None else (limit, self._client_address(req))

    @staticmethod
    def enforce(limit: Limit, count: int, retry_after: int) -> None:
        """Raise 429 if `count` requests in this window are over `limit`."""
        if count > limit.per_minute:
            if count == limit.per_minute + 1:  # once per window, not per request
                log.warning('rate limit: %s over %s/min', limit.scope, limit.per_minute)
            raise falcon.HTTPTooManyRequests(
                title='Too many requests',
                description=f'This address may {limit.what} at most '
                f'{limit.per_minute} times a minute. Try again in {retry_after} s.',
                retry_after=retry_after,
            )


@dataclass(frozen=True)
class Budget:
    """At most `limit` requests per `window` seconds for each key; 0: no limit."""

    scope: str  # part of the Redis key
    limit: int
    window: int  # seconds
    # The 429's description, formatted with {limit} and {retry_after}.
    too_many: str

    def spend(self, store: Store, key: str, now: float) -> None:
        """Count one request for `key`; raise 429 if it is over the budget."""
        if self.limit <= 0:
            return
        count, retry_after = store.count_request(self.scope, key, self.window, now)
        if count <= self.limit:
            return
        if count == self.limit + 1:  # once per window, not per request
            log.warning(
                'rate limit: %s over %s per %s s', self.scope, self.limit, self.window
            )
        raise falcon.HTTPTooManyRequests(
            title='Too many requests',
            description=self.too_many.format(limit=self.limit, retry_after=retry_after),
            retry_after=retry_after,
        )
