"""``docker-compose.yaml`` and ``.env.example`` hold together, without Docker: the services, executor
switch, healthchecks and connections are checked as data, and Debian's ``docker-compose`` (or the
``docker compose`` plugin), when installed, validates the file as ``docker compose config`` would."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import ROOT

COMPOSE_FILE = ROOT / "docker-compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
AIRFLOW_SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")
CONNECTIONS = ("AIRFLOW_CONN_HUBSPOT_SNOWFLAKE", "AIRFLOW_CONN_PERSONALIZE_S3", "AIRFLOW_CONN_HOOK_S3")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def _env_example() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines() if "=" in line)
    return {key: value for key, value in pairs if not key.startswith("#")}


def test_the_stack_has_every_service_with_a_healthcheck(compose):
    services = compose["services"]
    for name in (*AIRFLOW_SERVICES, "postgres", "s3", "hubspot-share", "redis", "airflow-worker"):
        assert "healthcheck" in services[name], name
    assert services["airflow-init"]["environment"]["_AIRFLOW_DB_MIGRATE"] == "true"
    for name in AIRFLOW_SERVICES:
        assert services[name]["image"].startswith("${AIRFLOW_IMAGE:-apache/airflow:3.3.2-")
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
        assert "profiles" not in services[name]
        assert {"./dags:/opt/airflow/dags", "./plugins:/opt/airflow/plugins"} <= set(
            services[name]["volumes"]
        )


def test_local_executor_by_default_celery_as_a_profile(compose):
    environment = compose["x-airflow-common"]["environment"]
    assert environment["AIRFLOW__CORE__EXECUTOR"] == "${AIRFLOW_EXECUTOR:-LocalExecutor}"
    assert environment["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    services = compose["services"]
    assert services["redis"]["profiles"] == services["airflow-worker"]["profiles"] == ["celery"]
    # nothing outside the profile may depend on it, or `docker compose up` without it fails
    for name, service in services.items():
        if "celery" not in service.get("profiles", []):
            assert "redis" not in service.get("depends_on", {}), name


def test_containers_install_the_runtime_requirements_only(compose):
    """Every Airflow container installs requirements.txt (no Airflow, no test tools: see
    tests/test_requirements.py) and nothing else; only the local share adds the emulator's file."""
    common = compose["x-airflow-common"]
    runtime = "-r /opt/airflow/requirements.txt"
    installs = common["environment"]["_PIP_ADDITIONAL_REQUIREMENTS"]
    assert installs == "${AIRFLOW_PIP_REQUIREMENTS-" + runtime + "}"
    assert "./requirements.txt:/opt/airflow/requirements.txt:ro" in common["volumes"]
    assert _env_example()["AIRFLOW_PIP_REQUIREMENTS"] == runtime
    local_share = compose["services"]["hubspot-share"]["environment"]["_PIP_ADDITIONAL_REQUIREMENTS"]
    assert local_share.split("}", 1)[1].split() == ["-r", "/opt/airflow/requirements-local.txt"]
    for name, service in compose["services"].items():
        installs = service.get("environment", {}).get("_PIP_ADDITIONAL_REQUIREMENTS", "")
        assert "requirements-dev" not in installs and "constraints" not in installs, name
        if name != "hubspot-share":
            assert "requirements-local" not in installs, name
    assert not [volume for volume in common["volumes"] if "requirements-dev" in volume]


def test_env_example_has_the_three_connections_and_no_real_secrets():
    env = _env_example()
    for key in CONNECTIONS:
        connection = json.loads(env[key])
        assert connection["password"].startswith("local"), key
    for key in ("AIRFLOW_CONN_PERSONALIZE_S3", "AIRFLOW_CONN_HOOK_S3"):
        assert json.loads(env[key])["extra"]["endpoint_url"] == "http://s3:5000"
    assert json.loads(env["AIRFLOW_VAR_HUBSPOT_PIPELINE_CONFIG"])["storage"]["backend"] == "s3"
    assert env["AIRFLOW_EXECUTOR"] == "LocalExecutor"
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_the_local_buckets_match_the_pipeline_configuration():
    from hubspot_pipeline.config import load_config

    config = load_config()
    buckets = set(_env_example()["LOCAL_S3_BUCKETS"].split())
    assert {config.personalize.bucket, config.storage.staging_bucket, config.hook.bucket} <= buckets


def _compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


def test_every_variable_has_a_default_or_an_example():
    text = COMPOSE_FILE.read_text().replace("$$", "")
    names = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?=[}:?-])", text))
    defaulted = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?-", text))
    assert names - defaulted - set(_env_example()) == set()


def test_docker_compose_config_accepts_the_file(tmp_path):
    """The compose validator accepts the file (no Docker engine needed). scripts/test.sh installs Debian's
    docker-compose where it can; without a validator this test fails rather than passing unchecked."""
    command = _compose_command()
    assert command is not None, "no compose validator: apt-get install docker-compose (scripts/test.sh does)"
    shutil.copy(COMPOSE_FILE, tmp_path / "docker-compose.yaml")
    shutil.copy(ENV_EXAMPLE, tmp_path / ".env")
    result = subprocess.run(
        [*command, "-f", "docker-compose.yaml", "config", "--services"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert {*AIRFLOW_SERVICES, "airflow-init", "postgres", "s3", "hubspot-share"} <= set(
        result.stdout.split()
    )
