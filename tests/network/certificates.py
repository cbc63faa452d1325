"""Throwaway TLS certificates for tests, made with the openssl command line."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path
    # base64(SHA-256(SubjectPublicKeyInfo)): what Chromium's
    # --ignore-certificate-errors-spki-list takes, so only THIS cert is trusted.
    spki_sha256: str

    def chromium_args(self) -> list[str]:
        return [f'--ignore-certificate-errors-spki-list={self.spki_sha256}']


def self_signed(folder: Path, host: str) -> Certificate:
    """Make a one-day self-signed certificate for `host` (a name or an IP)."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / 'cert.pem', folder / 'key.pem'
    try:
        ipaddress.ip_address(host)
        san = f'IP:{host}'
    except ValueError:
        san = f'DNS:{host}'
    subprocess.run(
        ['openssl', 'req', '-x509', '-newkey', 'ec',
         '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
         '-keyout', str(key), '-out', str(cert), '-days', '1',
         '-subj', f'/CN={host}', '-addext', f'subjectAltName={san}'],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    key.chmod(0o600)
    public_pem = subprocess.run(
        ['openssl', 'x509', '-in', str(cert), '-pubkey', '-noout'],
        check=True, capture_output=True, timeout=30,
    ).stdout  # fmt: skip
    spki_der = subprocess.run(
        ['openssl', 'pkey', '-pubin', '-outform', 'der'],
        input=public_pem, check=True, capture_output=True, timeout=30,
    ).stdout  # fmt: skip
    digest = base64.b64encode(hashlib.sha256(spki_der).digest()).decode()
    return Certificate(cert=cert, key=key, spki_sha256=digest)
