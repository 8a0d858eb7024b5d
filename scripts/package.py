#!/usr/bin/env python3
"""Lay out the project for a deployment target, with the folders that target syncs and nothing else.

    scripts/package.py --target astro|mwaa|composer --out DIR [--config FILE]

- ``astro``: an Astro project (``dags/``, ``plugins/``, ``include/``, ``requirements.txt``,
  ``packages.txt``, ``Dockerfile`` on the Astro Runtime): the image keeps ``include/`` beside ``plugins/``
  in ``/usr/local/airflow``.
- ``mwaa``: ``dags/``, ``plugins.zip`` and ``requirements.txt`` for the environment's S3 bucket, and with
  ``--config`` a ``startup.sh`` exporting ``HUBSPOT_PIPELINE_CONFIG``. MWAA syncs no ``include/``: the
  include folder travels inside the package, ``plugins.zip:hubspot_pipeline/include/``.
- ``composer``: ``dags/`` and ``plugins/`` as ``gcloud composer environments storage dags|plugins import``
  uploads them; the include folder is inside the package (``plugins/hubspot_pipeline/include/``), so
  Composer's ``data/`` folder is not needed.

``--config FILE`` adds a deploy-time configuration (YAML, merged over ``include/config/pipeline.yaml``:
buckets, dataset group, schedules, the share...) as ``<include>/config/<name>`` and sets
``HUBSPOT_PIPELINE_CONFIG=config/<name>`` where the target reads environment variables (Astro: the
Dockerfile; MWAA: startup.sh; Composer: printed, to set on the environment). The DAG files read it when
they are parsed and the tasks when they run.

The package is ``plugins/hubspot_pipeline`` without ``local/`` (the local share, its emulator and the
tutorial sample: development only). Needs only Python's standard library; with PyYAML importable, the laid
out configuration is loaded once as the DAG files would load it (``--no-check`` skips that).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "hubspot_pipeline"
TARGETS = ("astro", "mwaa", "composer")
# The Astro Runtime image for Airflow 3.3 on Python 3.11 (the tested versions); see the README, "Deploying".
ASTRO_IMAGE = "astrocrpublic.azurecr.io/runtime:3.3-7-python-3.11"
EXCLUDED_PARTS = {"__pycache__", ".pytest_cache", ".ruff_cache"}
EXCLUDED_PACKAGE_FOLDERS = {"local"}  # development only: the local share, emulator, tutorial sample
RESERVED_CONFIG_NAMES = {"pipeline.yaml", "hook_metrics.yaml"}
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so the same sources give the same plugins.zip bytes


class PackagingError(RuntimeError):
    """The layout cannot be made as asked."""


def _files(folder: Path) -> Iterator[Path]:
    """Files under ``folder``, sorted, without caches and compiled files."""
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and not EXCLUDED_PARTS.intersection(relative.parts) and path.suffix != ".pyc":
            yield path


def _copy_tree(source: Path, destination: Path, skip: set[str] = frozenset()) -> None:
    for path in _files(source):
        relative = path.relative_to(source)
        if relative.parts[0] in skip:
            continue
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def _copy_dags(out: Path) -> None:
    (out / "dags").mkdir(parents=True)
    for path in sorted((ROOT / "dags").glob("*.py")):
        shutil.copyfile(path, out / "dags" / path.name)


def _copy_include(destination: Path, config: Path | None) -> None:
    """``include/`` (sql/, config/) to ``destination``, with the deploy-time file in ``config/``."""
    _copy_tree(ROOT / "include", destination)
    if config is not None:
        shutil.copyfile(config, destination / "config" / config.name)


def _copy_plugins(plugins: Path, include_inside: bool, config: Path | None) -> None:
    """``plugins/.airflowignore`` and the package without ``local/``; the include folder inside the
    package when the target syncs no ``include/``."""
    plugins.mkdir(parents=True)
    shutil.copyfile(ROOT / "plugins" / ".airflowignore", plugins / ".airflowignore")
    _copy_tree(ROOT / "plugins" / PACKAGE, plugins / PACKAGE, skip=EXCLUDED_PACKAGE_FOLDERS)
    if include_inside:
        _copy_include(plugins / PACKAGE / "include", config)


def _zip_folder(folder: Path, archive: Path) -> None:
    """``folder``'s contents at the root of ``archive``, in name order, with fixed times and modes: the
    same sources give the same bytes (MWAA versions plugins.zip by its S3 object version)."""
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(folder.rglob("*")):
            name = path.relative_to(folder).as_posix() + ("/" if path.is_dir() else "")
            entry = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            entry.external_attr = ((0o40755 if path.is_dir() else 0o100644) << 16) | (
                0x10 if path.is_dir() else 0
            )
            entry.compress_type = zipfile.ZIP_STORED if path.is_dir() else zipfile.ZIP_DEFLATED
            bundle.writestr(entry, b"" if path.is_dir() else path.read_bytes())


def _config_setting(config: Path | None) -> str | None:
    return None if config is None else f"config/{config.name}"


def _dockerfile(image: str, config: Path | None) -> str:
    lines = [
        "# Astro project image (made by scripts/package.py --target astro). The Astro Runtime installs",
        "# packages.txt and requirements.txt and copies this folder to /usr/local/airflow, where the",
        "# pipeline finds include/ beside plugins/.",
        f"FROM {image}",
    ]
    if setting := _config_setting(config):
        lines += [
            "# the deploy-time configuration (relative to include/), read at parse time and at run time",
            f"ENV HUBSPOT_PIPELINE_CONFIG={setting}",
        ]
    return "\n".join(lines) + "\n"


def _startup_script(config: Path) -> str:
    return (
        "#!/bin/sh\n"
        "# MWAA startup script (made by scripts/package.py --target mwaa): MWAA runs it on every Airflow\n"
        "# component before Airflow starts. The deploy-time configuration, relative to the include folder\n"
        "# inside the package (plugins.zip:hubspot_pipeline/include/), read at parse time and at run time.\n"
        f"export HUBSPOT_PIPELINE_CONFIG={_config_setting(config)}\n"
    )


def layout(target: str, out: Path, config: Path | None = None, astro_image: str = ASTRO_IMAGE) -> list[str]:
    """Write ``target``'s layout into ``out`` (absent or empty); return the next steps to print."""
    if target not in TARGETS:
        raise PackagingError(f"unknown target {target!r}: one of {', '.join(TARGETS)}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise PackagingError(f"{out} exists and is not an empty folder: choose a new --out")
    if config is not None:
        if not config.is_file():
            raise PackagingError(f"--config {config}: no such file")
        if config.name in RESERVED_CONFIG_NAMES or config.suffix not in (".yaml", ".yml"):
            raise PackagingError(
                f"--config {config}: name the deploy-time file *.yaml, but not "
                f"{' or '.join(sorted(RESERVED_CONFIG_NAMES))}"
            )
    out.mkdir(parents=True, exist_ok=True)
    _copy_dags(out)
    shutil.copyfile(ROOT / "requirements.txt", out / "requirements.txt")
    setting = _config_setting(config)
    if target == "astro":
        _copy_plugins(out / "plugins", include_inside=False, config=None)
        _copy_include(out / "include", config)
        (out / "packages.txt").write_text("")
        (out / "Dockerfile").write_text(_dockerfile(astro_image, config))
        return [
            f"Astro project in {out}: from there, `astro deploy` (or `astro dev start` to try it locally).",
            "Set the connections (and, for keys tasks alone use, the Variable) on the Deployment.",
        ]
    if target == "mwaa":
        with tempfile.TemporaryDirectory() as staging:
            _copy_plugins(Path(staging) / "plugins", include_inside=True, config=config)
            _zip_folder(Path(staging) / "plugins", out / "plugins.zip")
        steps = [
            f"MWAA files in {out}: upload them to the environment's bucket, e.g.",
            f"  aws s3 sync {out}/dags s3://BUCKET/dags --delete",
            f"  aws s3 cp {out}/plugins.zip s3://BUCKET/plugins.zip",
            f"  aws s3 cp {out}/requirements.txt s3://BUCKET/requirements.txt",
        ]
        if config is not None:
            (out / "startup.sh").write_text(_startup_script(config))
            steps.append(f"  aws s3 cp {out}/startup.sh s3://BUCKET/startup.sh")
        steps.append(
            "then point the environment at the new object versions (plugins, requirements"
            + (", startup script" if config is not None else "")
            + "): aws mwaa update-environment --name ENV ..."
        )
        return steps
    _copy_plugins(out / "plugins", include_inside=True, config=config)
    storage = "gcloud composer environments storage"
    where = "--environment ENV --location LOCATION"
    steps = [f"Cloud Composer files in {out}: upload them to the environment's bucket, e.g."]
    steps += [f"  {storage} dags import {where} --source {path}" for path in sorted((out / "dags").iterdir())]
    steps += [
        f"  {storage} plugins import {where} --source {out}/plugins/{PACKAGE}",
        f"  {storage} plugins import {where} --source {out}/plugins/.airflowignore",
        f"  gcloud composer environments update ENV --location LOCATION --update-pypi-packages-from-file "
        f"{out}/requirements.txt",
    ]
    if setting:
        steps.append(
            "  gcloud composer environments update ENV --location LOCATION "
            f"--update-env-variables=HUBSPOT_PIPELINE_CONFIG={setting}"
        )
    return steps


def check(target: str, out: Path, config: Path | None) -> str | None:
    """Load the laid-out configuration as the DAG files do, with only the layout's package on the path;
    return the error, or None. Skipped (None) when this Python has no PyYAML."""
    try:
        import yaml  # noqa: F401
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as unpacked:
        plugins = out / "plugins"
        if target == "mwaa":
            with zipfile.ZipFile(out / "plugins.zip") as bundle:
                bundle.extractall(unpacked)
            plugins = Path(unpacked)
        environment = {
            key: value for key, value in os.environ.items() if not key.startswith("HUBSPOT_PIPELINE_")
        }
        environment.pop("PYTHONPATH", None)
        if setting := _config_setting(config):
            environment["HUBSPOT_PIPELINE_CONFIG"] = setting
        probe = (
            "import sys; sys.path.insert(0, sys.argv[1]); "
            "from hubspot_pipeline.config import include_dir, load_config; "
            "load_config(); print(include_dir())"
        )
        result = subprocess.run(  # -I: nothing but the layout's package on the path; -B: no __pycache__
            [sys.executable, "-I", "-B", "-c", probe, str(plugins)],
            env=environment,
            cwd=unpacked,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            return (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        found = Path(result.stdout.strip().splitlines()[-1])
        expected = out / "include" if target == "astro" else plugins / PACKAGE / "include"
        if found != expected.resolve():
            return f"the package found its include folder in {found}, not in the layout's {expected}"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/package.py", description=__doc__.splitlines()[0], epilog="See the README, Deploying."
    )
    parser.add_argument("--target", required=True, choices=TARGETS)
    parser.add_argument("--out", required=True, type=Path, help="a new (or empty) folder")
    parser.add_argument("--config", type=Path, help="the deploy-time configuration file (YAML) to ship")
    parser.add_argument(
        "--astro-image", default=ASTRO_IMAGE, help=f"astro: the FROM image (default {ASTRO_IMAGE})"
    )
    parser.add_argument("--no-check", action="store_true", help="do not load the laid-out configuration")
    arguments = parser.parse_args(argv)
    out = arguments.out.resolve()
    config = arguments.config.resolve() if arguments.config else None
    try:
        steps = layout(arguments.target, out, config, arguments.astro_image)
    except PackagingError as error:
        print(f"scripts/package.py: {error}", file=sys.stderr)
        return 2
    if not arguments.no_check and (problem := check(arguments.target, out, config)):
        print(f"scripts/package.py: the laid-out configuration does not load: {problem}", file=sys.stderr)
        return 1
    if not arguments.no_check and importlib.util.find_spec("yaml") is None:
        print("note: no PyYAML in this Python, so the laid-out configuration was not loaded", file=sys.stderr)
    print("\n".join(steps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
