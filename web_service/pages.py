"""The HTML pages: home, attendee and presenter, and the friendly 404."""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from pathlib import Path
from string import Template

import falcon

from podium import ids

TEMPLATES_DIR = Path(__file__).parent / 'templates'
MAX_ID_LENGTH = ids.MAX_LENGTH  # the routes' converter refuses longer ones

VIDEO_SCRIPTS = {
    'twilio': '<script src="/static/vendor/twilio-video.min.js"></script>',
    # Served by the local backend's author; exposes window.PodiumLocalVideo.
    'local': '<script type="module" src="/static/js/local-video.js"></script>',
}

ReadPresentation = Callable[[str], Awaitable[dict | None]]


class Templates:
    """Page templates (`string.Template`), loaded once; values are HTML-escaped."""

    def __init__(self, directory: Path = TEMPLATES_DIR):
        self._templates = {
            path.stem: Template(path.read_text(encoding='utf-8'))
            for path in directory.glob('*.html')
        }

    def render(self, page: str, *, title: str, scripts: str = '', **values: str) -> str:
        """Return page `page` inside the layout; every value is escaped here."""
        escaped = {name: html.escape(value) for name, value in values.items()}
        content = self._templates[page].substitute(escaped, title=html.escape(title))
        return self._templates['layout'].substitute(
            escaped,
            page=page,
            title=html.escape(title),
            content=content,
            scripts=scripts,
        )


def _scripts(*sources: str, video_backend: str | None = None) -> str:
    tags = [VIDEO_SCRIPTS[video_backend]] if video_backend else []
    tags += [f'<script type="module" src="{src}"></script>' for src in sources]
    return '\n'.join(tags)


def render_not_found(templates: Templates, resp) -> None:
    """Make `resp` the friendly HTML 404 page."""
    resp.status = falcon.HTTP_404
    resp.content_type = falcon.MEDIA_HTML
    resp.text = templates.render('not_found', title='Not found')


class Home:
    """`GET /`: create a presentation and get its two links."""

    def __init__(self, templates: Templates):
        self._templates = templates

    async def on_get(self, req, resp) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.text = self._templates.render(
            'home', title='Podium', scripts=_scripts('/static/js/home.js')
        )


class PresentationPage:
    """`GET /presentations/{id}` (attendee) and `.../present` (presenter, suffix)."""

    def __init__(
        self,
        templates: Templates,
        read_presentation: ReadPresentation,
        backend: str,
        broadcast_base: str = '/broadcast/',
    ):
        self._templates = templates
        self._read_presentation = read_presentation
        self._backend = backend
        self._broadcast_base = broadcast_base

    async def _render(self, resp, presentation_id: str, page: str) -> None:
        presentation = None
        if len(presentation_id) <= MAX_ID_LENGTH:
            presentation = await self._read_presentation(presentation_id)
        if presentation is None:
            render_not_found(self._templates, resp)
            return
        resp.content_type = falcon.MEDIA_HTML
        resp.cache_control = ['no-store']
        resp.text = self._templates.render(
            page,
            title=presentation.get('title') or 'Untitled presentation',
            presentation_id=presentation_id,
            backend=self._backend,
            broadcast_base=self._broadcast_base,
            scripts=_scripts(f'/static/js/{page}.js', video_backend=self._backend),
        )

    async def on_get(self, req, resp, presentation_id: str) -> None:
        await self._render(resp, presentation_id, 'attendee')

    async def on_get_present(self, req, resp, presentation_id: str) -> None:
        await self._render(resp, presentation_id, 'presenter')
