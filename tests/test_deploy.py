"""The deployment files agree with the code: compose.yaml's commands, ports and variables,
and the Dockerfile's user, health check and copied paths. No container runtime runs here, so
the files are read and checked against the app's own parser, settings and routes."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from assistant.cli import build_parser
from assistant.config import PROJECT_ROOT, Settings
from assistant.server import create_app

COMPOSE = yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text(encoding="utf-8"))
DOCKERFILE = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
SERVICES = COMPOSE["services"]


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def _env(service: str) -> dict[str, str]:
    """Return a service's environment, ${VAR:?…} placeholders given a sample value."""
    raw = SERVICES[service].get("environment", {})
    return {k: re.sub(r"\$\{[^}]+\}", "nyckel-1,nyckel-2", str(v)) for k, v in raw.items()}


def _ports(service: str) -> dict[int, int]:
    """Return host port -> container port."""
    return {int(h): int(c) for h, c in (p.split(":") for p in SERVICES[service]["ports"])}


def _routes() -> set[str]:
    app = create_app(Settings(), load=False)
    return {getattr(r, "path", "") for r in app.routes}


def test_every_service_runs_a_command_the_code_has():
    assert set(SERVICES) == {"chroma", "api", "ui"}
    api = SERVICES["api"]["command"]
    assert api[0] == "asf"
    args = build_parser().parse_args(api[1:])
    assert args.command == "serve" and args.host == "0.0.0.0"
    ui = SERVICES["ui"]["command"]
    assert ui[:3] == ["python", "-m", "ui.serve"] and (PROJECT_ROOT / "ui" / "serve.py").exists()
    chroma = SERVICES["chroma"]["command"]
    assert chroma[:2] == ["chroma", "run"] and _option(chroma, "--host") == "0.0.0.0"


def test_ports_match_what_each_process_listens_on():
    assert _ports("api") == {8000: int(_option(SERVICES["api"]["command"], "--port"))}
    assert _ports("ui") == {8501: int(_option(SERVICES["ui"]["command"], "--server.port"))}
    chroma_port = int(_option(SERVICES["chroma"]["command"], "--port"))
    for service in ("api", "ui"):
        url = urlsplit(_env(service)["ASF_CHROMA_URL"])
        assert url.hostname == "chroma" and url.port == chroma_port


@pytest.mark.parametrize("service", ["api", "ui"])
def test_every_variable_is_a_setting_the_app_reads(service, monkeypatch):
    env = _env(service)
    fields = set(Settings.model_fields)
    for name, value in env.items():
        assert name.startswith("ASF_"), name
        top = name[4:].split("__")[0].lower()
        assert top in fields, f"{name} is no setting"
        monkeypatch.setenv(name, value)
    settings = Settings()          # raises if a value does not fit its field
    assert settings.chroma_url == env["ASF_CHROMA_URL"]
    assert str(settings.data_dir) == env["ASF_DATA_DIR"]
    if service == "api":
        assert settings.api_keys.get_secret_value() and settings.api.rate_per_minute == 120
        assert "ASF_API_KEYS:?" in str(SERVICES["api"]["environment"]["ASF_API_KEYS"])


def test_health_checks_call_endpoints_that_exist():
    routes = _routes()
    checks = {name: " ".join(s["healthcheck"]["test"]) for name, s in SERVICES.items()}
    assert "127.0.0.1:8000/readyz" in checks["api"] and "/readyz" in routes
    assert "/api/v2/heartbeat" in checks["chroma"]
    assert "8501/_stcore/health" in checks["ui"]
    assert SERVICES["ui"]["depends_on"]["api"]["condition"] == "service_healthy"
    assert SERVICES["api"]["depends_on"]["chroma"]["condition"] == "service_healthy"


def test_one_image_is_built_once_and_used_by_every_service():
    """Issue 24: each service built its own image; now one build serves all three."""
    images = {s.get("image") for s in SERVICES.values()}
    assert len(images) == 1 and None not in images
    builders = [name for name, s in SERVICES.items() if "build" in s]
    assert builders == ["chroma"]
    for name, service in SERVICES.items():
        if name not in builders:
            # Never a same-named image from a registry; the build comes first, since every
            # service waits for chroma.
            assert service["pull_policy"] == "never"
    assert "chroma" in SERVICES["api"]["depends_on"] and "api" in SERVICES["ui"]["depends_on"]


def _instructions() -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in
            joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_dockerfile_builds_the_model_runs_unprivileged_and_checks_health():
    steps = _instructions()
    kinds = [k for k, _ in steps]
    runs = " ".join(v for k, v in steps if k == "RUN")
    assert "python -m assistant.index.model_setup /app/models" in runs
    assert "torch==2.13.0" in runs
    user = next(v for k, v in steps if k == "USER")
    assert user not in ("root", "0") and f"useradd --create-home --uid 10001 {user}" in runs
    assert kinds.index("USER") > max(i for i, k in enumerate(kinds) if k == "RUN")
    health = next(v for k, v in steps if k == "HEALTHCHECK")
    assert "127.0.0.1:8000/healthz" in health and "/healthz" in _routes()
    exposed = {int(p) for k, v in steps if k == "EXPOSE" for p in v.split()}
    assert exposed == {8000, 8501}
    cmd = next(v for k, v in steps if k == "CMD")
    assert shlex.split(cmd.strip("[]").replace(",", " ").replace('"', "")) == \
        SERVICES["api"]["command"]


def test_dockerfile_copies_paths_that_exist_and_sets_real_settings():
    steps = _instructions()
    for kind, value in steps:
        if kind == "COPY":
            *sources, _ = value.split()
            for source in sources:
                assert (PROJECT_ROOT / source).exists(), source
    env = " ".join(v for k, v in steps if k == "ENV")
    names = set(re.findall(r"(ASF_\w+)=", env))
    assert names == {"ASF_CORPUS_DIR", "ASF_MODELS_DIR", "ASF_DATA_DIR"}
    assert all(n[4:].lower() in Settings.model_fields for n in names)
    ignored = (PROJECT_ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {"data", "models", ".venv"} <= set(ignored)
    assert Path(PROJECT_ROOT / ".streamlit" / "config.toml").exists()
