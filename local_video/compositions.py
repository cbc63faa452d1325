"""Compositions: the resource, its state machine (pure), and its JSON file on disk.

States follow Twilio's: enqueued -> processing -> completed | failed, and
completed/failed -> deleted. Each composition is one JSON file under
`<recordings dir>/compositions/`, holding everything ffmpeg needs (the sources with
their offsets), so a restarted local_video resumes what was queued or under way.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path

from . import sids
from .clock import utcnow
from .composer import Source

STATUSES = ('enqueued', 'processing', 'completed', 'deleted', 'failed')
NEXT = {
    'enqueued': {'processing', 'failed'},
    # processing -> enqueued: a restart puts an interrupted composition back in line.
    'processing': {'completed', 'failed', 'enqueued'},
    'completed': {'deleted'},
    'failed': {'deleted'},
    'deleted': set(),
}


class IllegalTransition(ValueError):
    """A composition was asked to go where its state machine does not lead."""


@dataclass(frozen=True)
class Composition:
    sid: str
    room_sid: str
    status: str
    date_created: str  # ISO 8601, as stored
    video_layout: dict
    audio_sources: tuple[str, ...]
    audio_sources_excluded: tuple[str, ...]
    resolution: str
    format: str
    trim: bool
    status_callback: str | None
    status_callback_method: str
    sources: tuple[Source, ...] = ()
    date_completed: str | None = None
    date_deleted: str | None = None
    percent: int = 0
    size: int = 0
    duration: float = 0.0
    bitrate: int = 0
    error: str = ''
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        data = asdict(self)
        data['sources'] = [s.as_json() for s in self.sources]
        return data

    @classmethod
    def from_json(cls, data: dict) -> Composition:
        data = dict(data)
        data['sources'] = tuple(Source(**s) for s in data.get('sources', ()))
        data['audio_sources'] = tuple(data.get('audio_sources', ()))
        data['audio_sources_excluded'] = tuple(data.get('audio_sources_excluded', ()))
        return cls(**data)


def composition_sid() -> str:
    return sids.new_sid('CJ')


def transition(composition: Composition, status: str, **changes) -> Composition:
    """Return `composition` moved to `status` (pure); refuse an illegal move."""
    if status not in NEXT[composition.status]:
        raise IllegalTransition(f'{composition.status} -> {status}')
    now = utcnow().isoformat()
    if status == 'completed':
        changes.setdefault('date_completed', now)
        changes.setdefault('percent', 100)
    if status == 'deleted':
        changes.setdefault('date_deleted', now)
    if status == 'enqueued':
        changes.setdefault('percent', 0)
    return replace(composition, status=status, **changes)


def created_at(composition: Composition) -> datetime:
    return datetime.fromisoformat(composition.date_created)


class CompositionStore:
    """Compositions in memory, each mirrored to `<folder>/<sid>.json`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._items: dict[str, Composition] = {}

    def media_path(self, composition: Composition) -> Path:
        return self.folder / f'{composition.sid}.{composition.format}'

    def log_path(self, composition: Composition) -> Path:
        return self.folder / f'{composition.sid}.log'

    def load(self) -> list[Composition]:
        """Read every composition file (after a restart); return them."""
        if not self.folder.is_dir():
            return []
        for path in sorted(self.folder.glob('CJ*.json')):
            try:
                item = Composition.from_json(json.loads(path.read_text()))
            except (ValueError, TypeError, KeyError):
                continue  # a torn write from a crash: nothing to resume there
            self._items[item.sid] = item
        return list(self._items.values())

    def put(self, composition: Composition) -> Composition:
        self._items[composition.sid] = composition
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f'{composition.sid}.json'
        temporary = path.with_suffix('.json.tmp')
        try:
            temporary.write_text(json.dumps(composition.to_json()))
        except OSError:
            temporary.unlink(missing_ok=True)  # a full disk leaves no torn file
            raise
        os.replace(temporary, path)  # atomic: a crash leaves the old or the new
        return composition

    def get(self, sid: str) -> Composition | None:
        return self._items.get(sid)

    def all(self) -> list[Composition]:
        return sorted(self._items.values(), key=lambda c: c.date_created, reverse=True)
