"""The DAGs run wherever Airflow syncs the files: each target laid out by the project's own packaging
command (``scripts/package.py``), placed as that service places it, then parsed with a DagBag and both DAGs
run end to end with ``dag.test()`` on the local stack, in a fresh interpreter that sees only the laid-out
folders (``python -I``: no PYTHONPATH, nothing of the checkout on ``sys.path``).

- astro: the Astro project as the image keeps it in ``/usr/local/airflow`` (dags/, plugins/, include/), the
  Dockerfile's ``ENV`` lines as the environment;
- mwaa: ``dags/`` synced and ``plugins.zip`` extracted into ``/usr/local/airflow/{dags,plugins}`` as MWAA
  does, ``startup.sh`` sourced for the environment;
- composer: ``dags/`` and ``plugins/`` as ``gcloud composer environments storage ... import`` puts them in
  ``/home/airflow/gcs``, the printed ``--update-env-variables`` as the environment.

A deploy-time file (``--config``) sets the parse-time keys (buckets, dataset group, Hook prefix,
schedules); the Airflow Variable sets only a task-only key (``storage.local_root``). The Assets, the
schedules and the files written must all name the deploy-time values.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from hubspot_pipeline.config import load_config
from hubspot_pipeline.local.emulator import running_emulator
from hubspot_pipeline.local.generator import generate_share
from hubspot_pipeline.local.quickstart import snowflake_connection
from tests.conftest import ROOT

PACKAGE_COMMAND = ROOT / "scripts" / "package.py"
RUNNER = Path(__file__).resolve().parent / "run_layout.py"
EXPORT_DATE = date(2024, 6, 30)  # the generated share's last day
DEPLOY = {
    "personalize": {
        "bucket": "deploy-test-personalize",
        "dataset_group": "deploy-group",
        "schedule": "0 6 * * *",
    },
    "hook": {"bucket": "deploy-test-hook", "key_prefix": "exports/hubspot", "schedule": "0 7 * * *"},
}
HOOK_DATES = [EXPORT_DATE - timedelta(days=1), EXPORT_DATE]
RUNS = {
    "personalize_training_export": {
        "logical_date": f"{EXPORT_DATE}T06:00:00",
        "conf": {"export_date": EXPORT_DATE.isoformat(), "datasets": ["interactions", "items", "users"]},
    },
    "hook_metrics_export": {
        "logical_date": f"{EXPORT_DATE}T07:00:00",
        "conf": {"start_date": HOOK_DATES[0].isoformat(), "end_date": HOOK_DATES[-1].isoformat()},
    },
}
# what no target may import from: the checkout's own folders
CHECKOUT_FOLDERS = [ROOT, ROOT / "plugins", ROOT / "include", ROOT / "dags", ROOT / "tests"]


@pytest.fixture(scope="module")
def share():
    """A small generated share (enough for Personalize's minimums), served for the three targets."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="deploy-share-") as folder:
        generate_share(folder, contacts=300, companies=40, products=60, days=20, events_per_day=120)
        with running_emulator(folder) as emulator:
            yield emulator


@pytest.fixture(scope="module")
def fresh_airflow_db(tmp_path_factory) -> Path:
    """A newly migrated metadata DB, copied for each target: a deployment starts without the Assets the
    other tests registered (an Asset name already active with another URI would stay inactive)."""
    home = tmp_path_factory.mktemp("fresh-airflow-home")
    environment = {**os.environ, "AIRFLOW_HOME": str(home)}
    environment["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home / 'airflow.db'}"
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], env=environment, check=True, capture_output=True
    )
    return home / "airflow.db"


@pytest.fixture(scope="module")
def deploy_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("deploy-config") / "deploy.yaml"
    path.write_text(yaml.safe_dump(DEPLOY))
    return path


def package(target: str, out: Path, deploy_file: Path) -> str:
    """The packaging command, as a user runs it; returns what it printed."""
    command = [sys.executable, str(PACKAGE_COMMAND), "--target", target, "--out", str(out)]
    done = subprocess.run([*command, "--config", str(deploy_file)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _files_under(folder: Path) -> set[str]:
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}


def place_astro(out: Path, root: Path, printed: str) -> tuple[Path, dict[str, str]]:
    """The project folder as the Astro image keeps it (/usr/local/airflow); the Dockerfile's ENV lines."""
    assert sorted(path.name for path in out.iterdir()) == [
        "Dockerfile",
        "dags",
        "include",
        "packages.txt",
        "plugins",
        "requirements.txt",
    ]
    dockerfile = (out / "Dockerfile").read_text()
    assert re.search(r"^FROM astrocrpublic\.azurecr\.io/runtime:3\.3-\S+$", dockerfile, re.MULTILINE)
    home = root / "usr" / "local" / "airflow"
    shutil.copytree(out, home)
    environment = dict(re.findall(r"^ENV (\w+)=(\S+)$", dockerfile, re.MULTILINE))
    return home, environment


def place_mwaa(out: Path, root: Path, printed: str) -> tuple[Path, dict[str, str]]:
    """dags/ synced and plugins.zip extracted into /usr/local/airflow as MWAA does; startup.sh sourced."""
    assert sorted(path.name for path in out.iterdir()) == [
        "dags",
        "plugins.zip",
        "requirements.txt",
        "startup.sh",
    ]
    home = root / "usr" / "local" / "airflow"
    shutil.copytree(out / "dags", home / "dags")
    with zipfile.ZipFile(out / "plugins.zip") as bundle:
        names = bundle.namelist()
        assert ".airflowignore" in names and "hubspot_pipeline/include/sql/share/deals.sql" in names
        bundle.extractall(home / "plugins")
    sourced = subprocess.run(
        ["sh", "-c", '. "$1" && env -0', "sh", str(out / "startup.sh")],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"]},
    )
    exported = dict(line.split("=", 1) for line in sourced.stdout.split("\0") if "=" in line)
    return home, {key: value for key, value in exported.items() if key.startswith("HUBSPOT_PIPELINE_")}


def place_composer(out: Path, root: Path, printed: str) -> tuple[Path, dict[str, str]]:
    """dags/ and plugins/ as `gcloud composer environments storage ... import` puts them in the bucket,
    which Composer maps to /home/airflow/gcs; the environment variables the command printed."""
    assert sorted(path.name for path in out.iterdir()) == ["dags", "plugins", "requirements.txt"]
    home = root / "home" / "airflow" / "gcs"
    for kind, source in re.findall(r"storage (dags|plugins) import .*--source (\S+)$", printed, re.MULTILINE):
        source, destination = Path(source), home / kind / Path(source).name  # "it and its contents"
        if source.is_dir():
            shutil.copytree(source, destination)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)
    assert _files_under(home / "plugins") == _files_under(out / "plugins")
    assert _files_under(home / "dags") == _files_under(out / "dags")
    variables = re.findall(r"--update-env-variables=(\S+)", printed)
    return home, dict(variable.split("=", 1) for variable in variables)


PLACES = {"astro": place_astro, "mwaa": place_mwaa, "composer": place_composer}
EXPECTED_INCLUDE = {
    "astro": Path("include"),
    "mwaa": Path("plugins/hubspot_pipeline/include"),
    "composer": Path("plugins/hubspot_pipeline/include"),
}


@pytest.mark.parametrize("target", ["astro", "mwaa", "composer"])
def test_the_target_layout_parses_and_runs_both_dags(target, share, deploy_file, fresh_airflow_db, tmp_path):
    out, root, objects = tmp_path / "out", tmp_path / "root", tmp_path / "objects"
    printed = package(target, out, deploy_file)
    assert not list(out.rglob("__pycache__")) and not list(out.rglob("local/*"))
    assert (out / "requirements.txt").read_bytes() == (ROOT / "requirements.txt").read_bytes()
    home, target_environment = PLACES[target](out, root, printed)
    assert target_environment == {"HUBSPOT_PIPELINE_CONFIG": "config/deploy.yaml"}

    airflow_home = tmp_path / "airflow-home"
    airflow_home.mkdir()
    shutil.copyfile(fresh_airflow_db, airflow_home / "airflow.db")
    spec, result_file = tmp_path / "spec.json", tmp_path / "result.json"
    spec.write_text(json.dumps({"dags_folder": str(home / "dags"), "runs": RUNS}))
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW", "HUBSPOT_PIPELINE_", "PYTHON", "_AIRFLOW"))
    }
    environment |= {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(home / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
        "GX_ANALYTICS_ENABLED": "False",
        "AIRFLOW_CONN_HUBSPOT_SNOWFLAKE": snowflake_connection(share, load_config().share),
        # the identity log's hash key, as a deployment sets it (tests/conftest.py made it for this session)
        "AIRFLOW_VAR_HUBSPOT_PIPELINE_IDENTITY_HASH_KEY": os.environ[
            "AIRFLOW_VAR_HUBSPOT_PIPELINE_IDENTITY_HASH_KEY"
        ],
        # a task-only key through the Variable: allowed
        "AIRFLOW_VAR_HUBSPOT_PIPELINE_CONFIG": json.dumps({"storage": {"local_root": str(objects)}}),
        **target_environment,
    }
    done = subprocess.run(
        [sys.executable, "-I", str(RUNNER), str(spec), str(result_file)],
        cwd=home,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result_file.exists(), done.stderr[-3000:]
    result = json.loads(result_file.read_text())
    assert result["import_errors"] == {}
    assert result["dag_ids"] == ["hook_metrics_export", "hubspot_preflight", "personalize_training_export"]
    assert done.returncode == 0, done.stderr[-3000:]

    # only the laid-out folders: the package and its include folder come from the layout
    assert Path(result["package"]) == (home / "plugins" / "hubspot_pipeline").resolve()
    assert Path(result["include"]) == (home / EXPECTED_INCLUDE[target]).resolve()
    assert result["modules_outside"] == [] and not result["local_importable"]
    on_path = [Path(entry).resolve() for entry in result["sys_path"] if entry]
    assert not [
        entry for entry in on_path if entry in CHECKOUT_FOLDERS or entry.is_relative_to(ROOT / "plugins")
    ]

    # parse time and run time agree: the deploy-time file's buckets, group, prefix and schedules
    personalize, hook = DEPLOY["personalize"], DEPLOY["hook"]
    assert result["outlets"]["personalize_training_export"] == [
        f"personalize/{personalize['dataset_group']}/published"
    ]
    hook_alias = result["outlets"]["hook_metrics_export"]
    assert hook_alias == ["hook/published"]  # the Assets themselves are named by the run: see the files below
    assert result["schedules"] == {
        "personalize_training_export": personalize["schedule"],
        "hook_metrics_export": hook["schedule"],
    }
    for dag_id, run in result["runs"].items():
        assert run["state"] == "success", (dag_id, run["tasks"])
    assert set(result["runs"]) == set(RUNS)
    published = objects / personalize["bucket"] / "train" / personalize["dataset_group"]
    assert sorted(path.name for path in published.iterdir()) == [
        "config.json",
        "interactions.csv",
        "items.csv",
        "users.csv",
    ]
    hook_files = objects / hook["bucket"] / hook["key_prefix"]
    assert sorted(path.name for path in hook_files.glob("hook_export_*")) == [
        f"hook_export_{day:%Y%m%d}.csv" for day in HOOK_DATES
    ]


def test_the_same_sources_give_the_same_plugins_zip(deploy_file, tmp_path):
    package("mwaa", tmp_path / "first", deploy_file)
    package("mwaa", tmp_path / "second", deploy_file)
    assert (tmp_path / "first" / "plugins.zip").read_bytes() == (
        tmp_path / "second" / "plugins.zip"
    ).read_bytes()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--config", "include/config/pipeline.yaml"], "name the deploy-time file *.yaml, but not"),
        (["--config", "missing.yaml"], "missing.yaml: no such file"),
    ],
)
def test_the_packaging_command_refuses_what_it_cannot_lay_out(arguments, message, tmp_path):
    command = [sys.executable, str(PACKAGE_COMMAND), "--target", "composer", "--out", str(tmp_path / "out")]
    done = subprocess.run([*command, *arguments], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2 and message in done.stderr
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("")
    done = subprocess.run([*command[:-1], str(tmp_path / "full")], capture_output=True, text=True)
    assert done.returncode == 2 and "is not an empty folder" in done.stderr


def test_a_deploy_time_file_that_does_not_load_is_refused(tmp_path):
    broken = tmp_path / "production.yaml"
    broken.write_text("personalize: {bucket: Not_A_Bucket}\n")
    command = [sys.executable, str(PACKAGE_COMMAND), "--target", "astro", "--out", str(tmp_path / "out")]
    done = subprocess.run([*command, "--config", str(broken)], capture_output=True, text=True)
    assert (
        done.returncode == 1 and "personalize.bucket='Not_A_Bucket' is not a valid bucket name" in done.stderr
    )
