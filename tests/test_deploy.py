"""The deployment files agree with the code: compose.yaml's services use the Dockerfile, real settings, real
commands, the webhook's port and health route; secrets come only from the environment; the Caddyfile publishes
only the webhook and the dashboard; the image installs from the lock only. (Docker itself is not run here.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bot.cli import build_parser
from bot.runners import WEBHOOK_PATH
from config.settings import Settings
from storage.database import Database

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "compose.yaml"
CADDYFILE = ROOT / "deploy" / "Caddyfile"
SECRETS = ("TELEGRAM_BOT_TOKEN", "VOICES_PEPPER", "VOICES_DATA_KEYS", "VOICES_WEBHOOK_SECRET")
SETTING_NAMES = {str(field.validation_alias) for field in Settings.model_fields.values()}


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def services() -> dict[str, Any]:
    found: dict[str, Any] = compose()["services"]
    return found


def test_services_bot_postgres_proxy_and_a_one_off_migration() -> None:
    assert set(services()) == {"db", "migrate", "bot", "proxy"}
    for name in ("migrate", "bot"):
        assert services()[name]["build"] == "."
    assert (ROOT / "Dockerfile").is_file()
    assert services()["db"]["image"].startswith("postgres:")
    assert services()["proxy"]["image"].startswith("caddy:")


def test_commands_are_real_cli_commands() -> None:
    parser = build_parser()
    run = services()["bot"]["command"]
    migrate = services()["migrate"]["command"]
    assert run[:3] == migrate[:3] == ["python", "-m", "bot"]
    assert parser.parse_args(run[3:]).webhook is True
    assert vars(parser.parse_args(migrate[3:]))["command"] == "db"
    assert services()["bot"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_the_bot_reads_only_real_settings_and_secrets_come_from_the_environment() -> None:
    for name in ("migrate", "bot"):
        environment = services()[name]["environment"]
        assert set(environment) <= SETTING_NAMES, set(environment) - SETTING_NAMES
        assert environment["VOICES_ENV"] == "production"
        for secret in SECRETS:
            assert re.fullmatch(r"\$\{" + secret + r":\?[^}]+\}", environment[secret]), secret
        url = environment["DATABASE_URL"]
        assert "${POSTGRES_PASSWORD}" in url and "@db:5432/" in url
        Database(url.replace("${POSTGRES_PASSWORD}", "x"))  # the URL form the bot accepts (no connection made)
    assert re.fullmatch(r"\$\{POSTGRES_PASSWORD:\?[^}]+\}", services()["db"]["environment"]["POSTGRES_PASSWORD"])
    text = COMPOSE.read_text(encoding="utf-8")
    assert not re.search(r"(PEPPER|KEYS|SECRET|TOKEN|PASSWORD): [^$\s]", text), "a secret written in compose.yaml"


def test_healthchecks_volumes_and_ports_match_the_code() -> None:
    bot = services()["bot"]
    port = bot["environment"]["VOICES_WEBHOOK_PORT"]
    assert bot["expose"] == [port]
    assert f"http://127.0.0.1:{port}/healthz" in " ".join(bot["healthcheck"]["test"])
    for name in ("db", "bot", "proxy"):
        assert services()[name]["healthcheck"]["test"]
    assert "db-data:/var/lib/postgresql/data" in services()["db"]["volumes"]
    data_dir = bot["environment"]["VOICES_DATA_DIR"]
    assert f"bot-data:{data_dir}" in bot["volumes"]
    assert f'VOLUME ["{data_dir}"]' in (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert set(compose()["volumes"]) == {"db-data", "bot-data", "caddy-data", "caddy-config"}
    assert bot["environment"]["VOICES_WEBHOOK_URL"].endswith(WEBHOOK_PATH)
    assert "ports" not in bot and "ports" not in services()["db"], "only the proxy is published"


def test_the_caddyfile_publishes_only_the_webhook_and_the_dashboard() -> None:
    mounts = services()["proxy"]["volumes"]
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in mounts and CADDYFILE.is_file()
    caddy = CADDYFILE.read_text(encoding="utf-8")
    matcher = re.search(r"@voices path (.+)", caddy)
    assert matcher is not None and matcher.group(1).split() == [WEBHOOK_PATH, "/dashboard", "/dashboard/*"]
    port = services()["bot"]["environment"]["VOICES_WEBHOOK_PORT"]
    assert f"dynamic a bot {port}" in caddy
    assert "respond 404" in caddy and "/healthz" not in caddy.split("{$VOICES_DOMAIN}")[1]


def test_the_image_installs_from_the_lock_only() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    installs = [line for line in dockerfile.splitlines() if "pip install" in line]
    assert installs and all("--require-hashes" in line and "-r requirements.lock" in line for line in installs)
    assert "COPY requirements.lock" in dockerfile
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert ".env" in ignored and "data/" in ignored


def test_env_example_names_what_compose_needs() -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    needed = set(re.findall(r"\$\{([A-Z_]+):\?", COMPOSE.read_text(encoding="utf-8")))
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example, re.M))
    assert needed <= listed, needed - listed
