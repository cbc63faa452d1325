"""The web service's pages, static files and vendored browser library."""

from __future__ import annotations

import falcon
import falcon.testing
import pytest

from podium.config import WebConfig
from web_service.app import create_app
from web_service.changes import ChangeHub


@pytest.fixture
def config(web_config):
    """This module's service config stands in for the token service's."""
    return web_config


HOSTILE_TITLE = '</title><script>alert("x")</script> & co'


@pytest.fixture
def presentation(store) -> str:
    store.create_presentation({'id': 'p1', 'title': HOSTILE_TITLE, 'created_at': '1'})
    return 'p1'


def make_client(config, store, **environ) -> falcon.testing.TestClient:
    async def read_view(presentation_id):
        return store.read_view(presentation_id)

    app = create_app(config, store=store, changes=ChangeHub(read_view), environ=environ)
    return falcon.testing.TestClient(app)


@pytest.fixture
def client(config, store) -> falcon.testing.TestClient:
    return make_client(config, store)


def test_home_page_has_the_create_form_and_no_video_library(client):
    result = client.simulate_get('/')
    assert result.status_code == 200
    assert result.headers['content-type'].startswith('text/html')
    for element in (
        'id="title-input"',
        'id="create"',
        'id="attendee-link"',
        'id="presenter-link"',
        'for="title-input"',
    ):
        assert element in result.text
    assert '/static/js/home.js' in result.text
    assert 'twilio-video' not in result.text
    assert 'secret' in result.text  # it says which link to keep to yourself


@pytest.mark.parametrize(
    ('path', 'script'),
    [
        ('/presentations/p1', 'attendee.js'),
        ('/presentations/p1/present', 'presenter.js'),
    ],
)
def test_presentation_pages_escape_the_title(client, presentation, path, script):
    result = client.simulate_get(path)
    assert result.status_code == 200
    assert result.headers['cache-control'] == 'no-store'
    escaped = '&lt;/title&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co'
    assert f'<title>{escaped} · Podium</title>' in result.text
    assert f'<h1 id="title">{escaped}</h1>' in result.text
    assert '<script>alert' not in result.text
    assert f'<script type="module" src="/static/js/{script}"></script>' in result.text
    assert 'data-presentation-id="p1"' in result.text


def test_attendee_page_has_the_elements_browser_tests_use(client, presentation):
    text = client.simulate_get('/presentations/p1').text
    for name in (
        'status',
        'attendee-count',
        'reconnecting',
        'error',
        'join',
        'screen-video',
        'camera-video',
        'over',
        'unmute',
        'presenter-badges',
        'sound-toggle',
        'volume',
        'swap',
        'camera-hide',
        'fullscreen',
        'screen-audio',
    ):
        assert f'id="{name}"' in text
        assert f'data-testid="{name}"' in text


def test_presenter_page_has_the_elements_browser_tests_use(client, presentation):
    text = client.simulate_get('/presentations/p1/present').text
    for name in (
        'status',
        'attendee-count',
        'reconnecting',
        'error',
        'start',
        'stop',
        'preview-video',
        'over',
        'stop-confirm',
        'stop-cancel',
        'camera-select',
        'microphone-select',
        'mic-level',
        'mic-toggle',
        'camera-toggle',
        'muted-hint',
        'share-screen',
        'share-stop',
        'view-screen',
        'view-camera',
    ):
        assert f'id="{name}"' in text
        assert f'data-testid="{name}"' in text


@pytest.mark.parametrize('backend', ['twilio', 'local'])
def test_pages_load_only_their_backends_video_library(
    env, store, presentation, backend
):
    config = WebConfig.from_env({**env, 'PODIUM_VIDEO_BACKEND': backend})
    text = make_client(config, store).simulate_get('/presentations/p1/present').text
    twilio = '<script src="/static/vendor/twilio-video.min.js"></script>'
    local = '<script type="module" src="/static/js/local-video.js"></script>'
    assert (twilio in text) == (backend == 'twilio')
    assert (local in text) == (backend == 'local')
    assert f'data-backend="{backend}"' in text


@pytest.mark.parametrize(
    'path',
    [
        '/presentations/nope',
        '/presentations/nope/present',
        '/presentations/' + 'x' * 65,
        '/no/such/page',
    ],
)
def test_unknown_pages_get_a_friendly_html_404(client, path):
    result = client.simulate_get(path)
    assert result.status_code == 404
    assert result.headers['content-type'].startswith('text/html')
    assert 'Presentation not found' in result.text
    assert 'href="/"' in result.text


def test_static_files_are_served_and_revalidated(client):
    result = client.simulate_get('/static/js/podium-api.js')
    assert result.status_code == 200
    assert 'export function watchState' in result.text
    assert result.headers['cache-control'] == 'no-cache'
    assert client.simulate_get('/static/css/podium.css').status_code == 200


def test_twilio_video_comes_from_node_modules_with_an_etag(config, store, tmp_path):
    dist = tmp_path / 'twilio-video' / 'dist'
    dist.mkdir(parents=True)
    (dist / 'twilio-video.min.js').write_text('window.Twilio = {Video: {}};')
    client = make_client(config, store, PODIUM_NODE_MODULES=str(tmp_path))
    result = client.simulate_get('/static/vendor/twilio-video.min.js')
    assert result.status_code == 200
    assert result.text == 'window.Twilio = {Video: {}};'
    assert result.headers['content-type'].startswith('text/javascript')
    etag = result.headers['etag']
    again = client.simulate_get(
        '/static/vendor/twilio-video.min.js', headers={'If-None-Match': etag}
    )
    assert again.status_code == 304


def test_the_repositorys_node_modules_is_the_default(client):
    result = client.simulate_get('/static/vendor/twilio-video.min.js')
    assert result.status_code == 200
    assert 'Twilio' in result.text[:5000] or 'Video' in result.text[:5000]


def test_a_missing_twilio_video_says_how_to_install_it(config, store, tmp_path):
    client = make_client(config, store, PODIUM_NODE_MODULES=str(tmp_path))
    result = client.simulate_get('/static/vendor/twilio-video.min.js')
    assert result.status_code == 404
    assert 'npm ci' in result.json['description']


def test_only_that_one_file_of_node_modules_is_reachable(client):
    assert client.simulate_get('/static/vendor/twilio-video.js').status_code == 404
    assert client.simulate_get('/static/vendor/../app.py').status_code == 404


def test_healthz(client):
    result = client.simulate_get('/live/healthz')
    assert result.status_code == 200
    assert result.json == {'status': 'ok'}
