"""The one function that finds the include folder (SQL, configuration) and the deploy-time file, in the
documented order: ``HUBSPOT_PIPELINE_INCLUDE``, the copy inside the package, ``include/`` beside
``plugins/``; anything missing fails naming what to set."""

from __future__ import annotations

import shutil

import pytest

from hubspot_pipeline.config import ConfigError, include_dir, load_config, paths
from hubspot_pipeline.identity.identifiers import FREE_EMAIL_DOMAINS_FILE
from hubspot_pipeline.share.session import render_sql
from tests.conftest import ROOT


@pytest.fixture
def include_copy(tmp_path):
    copy = tmp_path / "elsewhere" / "include"
    shutil.copytree(ROOT / "include", copy)
    return copy


def test_the_repository_uses_include_beside_plugins(monkeypatch):
    monkeypatch.delenv("HUBSPOT_PIPELINE_INCLUDE", raising=False)
    assert include_dir() == ROOT / "include" == paths.PROJECT_INCLUDE
    assert not paths.PACKAGED_INCLUDE.exists()  # only scripts/package.py's layouts have one
    assert load_config().hook.metrics_file == ROOT / "include" / "config" / "hook_metrics.yaml"


def test_the_variable_names_the_folder_and_everything_is_read_from_it(include_copy, monkeypatch):
    (include_copy / "sql" / "share" / "products.sql").write_text("SELECT 1 AS FROM_THE_COPY")
    (include_copy / "config" / "production.yaml").write_text("personalize: {dataset_group: from-the-copy}\n")
    monkeypatch.setenv("HUBSPOT_PIPELINE_INCLUDE", str(include_copy))
    monkeypatch.setenv("HUBSPOT_PIPELINE_CONFIG", "config/production.yaml")  # relative to the include folder
    config = load_config()
    assert include_dir() == include_copy
    assert config.personalize.dataset_group == "from-the-copy"
    assert config.hook.metrics_file == include_copy / "config" / "hook_metrics.yaml"
    assert render_sql("share/products.sql", config.share) == "SELECT 1 AS FROM_THE_COPY"


def test_the_copy_inside_the_package_comes_before_include_beside_plugins(include_copy, monkeypatch):
    monkeypatch.delenv("HUBSPOT_PIPELINE_INCLUDE", raising=False)
    monkeypatch.setattr(paths, "PACKAGED_INCLUDE", include_copy)
    assert include_dir() == include_copy


def test_a_missing_include_folder_fails_naming_what_to_set(tmp_path, monkeypatch):
    monkeypatch.setenv("HUBSPOT_PIPELINE_INCLUDE", str(tmp_path))
    with pytest.raises(ConfigError, match=f"HUBSPOT_PIPELINE_INCLUDE={tmp_path} does not hold sql/"):
        load_config()
    monkeypatch.delenv("HUBSPOT_PIPELINE_INCLUDE")
    monkeypatch.setattr(paths, "PACKAGED_INCLUDE", tmp_path / "packaged")
    monkeypatch.setattr(paths, "PROJECT_INCLUDE", tmp_path / "beside")
    with pytest.raises(ConfigError, match=r"scripts/package.py --target .*or set HUBSPOT_PIPELINE_INCLUDE"):
        load_config()


def test_a_missing_deploy_time_file_is_named(monkeypatch):
    monkeypatch.setenv("HUBSPOT_PIPELINE_CONFIG", "config/production.yaml")
    with pytest.raises(ConfigError, match=r"HUBSPOT_PIPELINE_CONFIG=config/production.yaml: no such file"):
        load_config()


def test_package_data_travels_with_the_package():
    assert FREE_EMAIL_DOMAINS_FILE.is_relative_to(paths.PACKAGE_DIR) and FREE_EMAIL_DOMAINS_FILE.is_file()
