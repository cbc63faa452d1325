"""Over a thousand forged, tampered and replayed callbacks: all 403, no state change.

Each example starts from a callback correctly signed for another request, then
breaks it one way: another key, a changed/added/removed/repeated field, another
URL (host, scheme, path, query), or a garbled or missing signature.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from falcon import testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podium.store import Store
from tests.unit.test_signatures import twilio_signature
from tests.unit.test_webhooks import ATTENDEE, PRESENTER, TOKEN, URL, callback, seed
from webhooks.app import create_app


@pytest.fixture
def config(webhooks_config):
    """This module's service config stands in for the token service's."""
    return webhooks_config


EXAMPLES = 1200

field_text = st.text(
    st.characters(codec='utf-8', exclude_categories=('Cs',)), max_size=40
)


@st.composite
def genuine(draw) -> dict[str, str]:
    """A callback Twilio could send for the seeded presentation."""
    event = draw(
        st.sampled_from(
            [
                'room-created',
                'room-ended',
                'participant-connected',
                'participant-disconnected',
                'track-added',
                'track-enabled',
            ]
        )
    )
    form = callback(event, second=draw(st.integers(0, 3599)))
    if event.startswith(('participant', 'track')):
        sid, identity = draw(
            st.sampled_from([(PRESENTER, 'presenter'), (ATTENDEE, 'attendee-1')])
        )
        form.update(ParticipantSid=sid, ParticipantIdentity=identity)
    if event.startswith('track'):
        form.update(TrackSid='MT' + 'f' * 32, TrackKind='video', TrackName='screen')
    return form


def other_urls() -> st.SearchStrategy[str]:
    """URLs a callback may really have been signed for, other than ours."""
    return st.one_of(
        st.sampled_from(
            [
                'https://podium.test/webhooks/room-events',  # scheme
                'http://podium.test:8080/webhooks/room-events',  # port
                'http://evil.test/webhooks/room-events',  # host
                'http://127.0.0.1:8003/webhooks/room-events',  # upstream address
                'http://podium.test/webhooks/room-events/',  # path
                'http://podium.test/webhooks/other-events',
                'http://podium.test/webhooks/room-events?x=1',  # query
                URL.upper(),
            ]
        ),
        st.builds(lambda path: f'http://podium.test/{path}', field_text),
    )


@st.composite
def forgery(draw) -> tuple[dict[str, str] | list[tuple[str, str]], dict, str]:
    """Return (form sent, headers, query string) of one forged request."""
    form = draw(genuine())
    kind = draw(
        st.sampled_from(
            ['key', 'change', 'add', 'remove', 'repeat', 'url', 'query', 'garble',
             'missing']
        )
    )  # fmt: skip
    signed: dict[str, str] | list[tuple[str, str]] = dict(form)
    sent: dict[str, str] | list[tuple[str, str]] = form
    url, query = URL, ''
    key = TOKEN
    if kind == 'key':
        key = draw(field_text.filter(lambda k: k != TOKEN))
    elif kind == 'change':
        name = draw(st.sampled_from(sorted(form)))
        sent = {**form, name: draw(field_text.filter(lambda v: v != form[name]))}
    elif kind == 'add':
        name = draw(field_text.filter(lambda n: n and n not in form))
        sent = {**form, name: draw(field_text)}
    elif kind == 'remove':
        name = draw(st.sampled_from(sorted(form)))
        sent = {k: v for k, v in form.items() if k != name}
    elif kind == 'repeat':
        # Signed with one value, sent with a second one for the same field.
        name = draw(st.sampled_from(sorted(form)))
        sent = [*form.items(), (name, draw(field_text))]
    elif kind == 'url':
        url = draw(other_urls().filter(lambda u: u != URL))
    elif kind == 'query':
        # Signed without a query string, replayed with one.
        query = urlencode({draw(field_text) or 'x': draw(field_text)})
    headers = {'Content-Type': 'application/x-www-form-urlencoded'}
    if kind == 'garble':
        good = twilio_signature(key, url, signed)
        headers['X-Twilio-Signature'] = draw(
            st.one_of(
                st.text(st.characters(codec='ascii', min_codepoint=32), max_size=40),
                st.just(good[:-1]),
                st.just(good.lower()),
                st.just(good + '='),
            ).filter(lambda s: s.strip() and s != good)
        )
    elif kind != 'missing':
        headers['X-Twilio-Signature'] = twilio_signature(key, url, signed)
    return sent, headers, query


def snapshot(store: Store) -> dict:
    """Every key and value in the store (TTLs aside)."""
    client = store.client
    dumped = {}
    for key in sorted(client.keys('*')):
        kind = client.type(key)
        if kind == 'string':
            dumped[key] = client.get(key)
        elif kind == 'hash':
            dumped[key] = client.hgetall(key)
        elif kind == 'set':
            dumped[key] = sorted(client.smembers(key))
        else:
            pytest.fail(f'unexpected {kind} key {key}')
    return dumped


@pytest.fixture
def client(config, store) -> testing.TestClient:
    seed(store)
    return testing.TestClient(create_app(config, store=store))


def post(client, sent, headers, query=''):
    return client.simulate_post(
        '/webhooks/room-events',
        body=urlencode(sent),
        headers=headers,
        query_string=query or None,
    )


def test_a_genuine_callback_is_accepted_and_changes_state(client, store):
    # The control: the same code path does accept and store a real callback.
    form = callback('participant-connected', **{'ParticipantSid': PRESENTER,
                    'ParticipantIdentity': 'presenter'})  # fmt: skip
    before = snapshot(store)
    headers = {
        'Content-Type': 'application/x-www-form-urlencoded',
        'X-Twilio-Signature': twilio_signature(TOKEN, URL, form),
    }
    assert post(client, form, headers).status_code == 204
    assert snapshot(store) != before


def test_forged_callbacks_are_refused_and_change_nothing(client, store):
    before = snapshot(store)
    tried = []

    @given(forgery())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def refused(request):
        sent, headers, query = request
        result = post(client, sent, headers, query)
        assert result.status_code == 403, (request, result.status_code, result.text)
        assert result.json['title'] in ('Invalid signature', 'Missing signature')
        tried.append(request)

    refused()
    assert len(tried) >= 1000
    assert snapshot(store) == before
