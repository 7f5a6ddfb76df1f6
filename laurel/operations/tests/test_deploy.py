"""deploy/: the nginx site passes `nginx -t` and agrees with Laurel's settings; the systemd
units restart, raise the file limit and read the environment drop-in."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
SITE = (DEPLOY / "nginx" / "laurel.conf").read_text()
UNIT_SIZE = {"k": 1024, "m": 1024**2, "g": 1024**3}


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=credits.example.org",
         "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return tmp_path / "cert.pem", tmp_path / "key.pem"


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed")
def test_the_nginx_site_passes_nginx_t(tmp_path):
    cert, key = self_signed(tmp_path)
    site = SITE.replace(
        "/etc/letsencrypt/live/credits.example.org/fullchain.pem", str(cert)
    ).replace("/etc/letsencrypt/live/credits.example.org/privkey.pem", str(key))
    (tmp_path / "laurel.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {tmp_path}/body;\n"
        f"  proxy_temp_path {tmp_path}/proxy;\n  include {tmp_path}/laurel.conf;\n}}\n"
    )
    result = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"),
         "-c", str(tmp_path / "nginx.conf")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


def upload_location() -> tuple[str, str]:
    match = re.search(r"location ~ (\S+) \{(.*?)\n    \}", SITE, re.S)
    return match.group(1), match.group(2)


def test_the_upload_location_takes_laurels_import_size_and_matches_both_upload_urls():
    pattern, body = upload_location()
    size = re.search(r"client_max_body_size (\d+)([kmg])", body)
    assert int(size.group(1)) * UNIT_SIZE[size.group(2)] == settings.LAUREL_IMPORT_MAX_BYTES
    assert re.match(pattern, reverse("imports:upload", args=["northwind"]))
    assert re.match(pattern, "/api/v1/imports")
    assert not re.match(pattern, "/o/northwind/imports/12/")  # long timeouts only for uploads
    assert "proxy_read_timeout 300s" in body
    everywhere_else = SITE.replace(body, "")
    assert "proxy_read_timeout 60s" in everywhere_else
    assert "X-Forwarded-Proto $scheme" in SITE  # what SECURE_PROXY_SSL_HEADER reads


@pytest.mark.parametrize("unit", ["laurel-web.service", "laurel-worker@.service"])
def test_systemd_units_restart_and_raise_the_file_limit(unit):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(DEPLOY / "systemd" / unit)
    service = parser["Service"]
    assert service["Restart"] == "always"
    assert int(service["LimitNOFILE"]) >= 65536
    assert parser["Install"]["WantedBy"] == "multi-user.target"
    dropin = configparser.ConfigParser(interpolation=None)
    dropin.optionxform = str
    dropin.read(DEPLOY / "systemd" / "laurel.conf")
    assert dropin["Service"]["EnvironmentFile"] == "/etc/laurel/laurel.env"
    if unit.startswith("laurel-worker"):
        assert service["ExecStart"].endswith("laurel worker")
    else:
        # A directory systemd empties at each start, as prometheus_client's multiprocess
        # mode needs.
        text = (DEPLOY / "systemd" / unit).read_text()
        assert "Environment=PROMETHEUS_MULTIPROC_DIR=/run/laurel-web" in text
        assert service["RuntimeDirectory"] == "laurel-web"
