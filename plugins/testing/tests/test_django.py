"""Finding the Django settings a project's tests need (django-taggit 5.0.0 names them in tox,
django-oauth-toolkit 2.4.0's sdist only keeps ``tests/settings.py``)."""

from __future__ import annotations

import pytest
from leo_testing.django import Settings, find

LISTING = ["tests/__init__.py", "tests/settings.py", "tests/test_models.py", "app/models.py"]


def test_pytest_configuration_that_names_the_settings_is_left_to_pytest_django():
    pyproject = b'[tool.pytest.ini_options]\nDJANGO_SETTINGS_MODULE = "tests.settings"\n'
    found = find({"pyproject.toml": pyproject}, LISTING)
    assert found == Settings(None, "pyproject.toml (pytest's configuration)")
    ini = b"[pytest]\nDJANGO_SETTINGS_MODULE = tests.settings\n"
    assert find({"pytest.ini": ini}, LISTING).module is None


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("tox.ini", "[testenv]\ncommands =\n    coverage run -m django test --settings=tests.settings\n"),
        ("tox.ini", "[testenv]\nsetenv =\n    DJANGO_SETTINGS_MODULE = tests.settings\n"),
        ("pyproject.toml", '[tool.tox]\nlegacy_tox_ini = """\n[testenv]\ncommands = django-admin test --settings tests.settings\n"""\n'),
        ("runtests.py", 'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")\n'),
        ("manage.py", 'import os\nos.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"\n'),
    ],
)  # fmt: skip
def test_settings_named_where_pytest_does_not_look_are_found(name, text):
    found = find({name: text.encode()}, LISTING)
    assert found is not None and found.module == "tests.settings" and name in found.source


def test_a_test_settings_module_beside_the_tests_is_the_last_resort():
    settings = {"tests/settings.py": b"SECRET_KEY = 'x'\nINSTALLED_APPS = ['app']\n"}
    assert find(settings, LISTING) == Settings(
        "tests.settings", "tests/settings.py (a test settings module beside the tests)"
    )
    assert find({}, ["app/models.py", "tests/test_models.py"]) is None


def test_hostile_twin_a_test_module_named_like_settings_is_not_settings():
    """django-oauth-toolkit 2.4.0's sdist: tests/test_settings.py tests its settings."""
    tests = b"from django.test import TestCase\n\n\nclass T(TestCase):\n    pass\n"
    assert find({"tests/test_settings.py": tests}, ["tests/test_settings.py"]) is None


@pytest.mark.parametrize(
    "text",
    [
        "commands = django-admin test --settings=nowhere.settings\n",  # not a file here
        "commands = django-admin test --settings=tests.settings;touch\n",  # stops at the name
        'setenv = DJANGO_SETTINGS_MODULE = "--ds=evil"\n',
    ],
)
def test_hostile_twin_a_module_that_is_not_a_file_of_the_project_is_never_named(text):
    found = find({"tox.ini": f"[testenv]\n{text}".encode()}, ["app/models.py"])
    assert found is None
    settings = b"INSTALLED_APPS = []\n"
    found = find({"tox.ini": f"[testenv]\n{text}".encode(), "tests/settings.py": settings}, LISTING)
    assert found is not None and found.module == "tests.settings"


SHELF = {
    "pyproject.toml": (
        '[project]\nname = "shelf"\nversion = "1"\ndependencies = ["django>=4.2,<5.2"]\n'
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[tool.setuptools]\npackages = ["shelf"]\n'
    ),
    "shelf/__init__.py": "",
    "shelf/models.py": (
        "from django.db import models\n\n\nclass Book(models.Model):\n"
        "    title = models.CharField(max_length=50)\n"
    ),
    "shelf/shelving.py": (
        "from shelf.models import Book\n\n\ndef shelve(title):\n"
        "    return Book.objects.create(title=title)\n"
    ),
    "tests/__init__.py": "",
    "tests/settings.py": (
        "SECRET_KEY = 'not secret'\nINSTALLED_APPS = ['shelf']\nUSE_TZ = True\n"
        "DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': ':memory:'}}\n"
    ),
    "tests/test_shelf.py": (
        "from django.test import TestCase\n\nfrom shelf.shelving import shelve\n\n\n"
        "class ShelfTests(TestCase):\n    def test_shelve(self):\n"
        "        self.assertEqual(shelve('a').title, 'a')\n"
    ),
    "tox.ini": "[testenv]\ncommands = django-admin test --settings=tests.settings\n",
}


def test_a_django_apps_tests_run_with_the_settings_its_tox_names(leo_repo, run_testing):
    """django-taggit 5.0.0: every test errored with "settings are not configured"."""
    head = {
        "shelf/shelving.py": SHELF["shelf/shelving.py"]
        + "\n\ndef count():\n    return Book.objects.count()\n",
        "tests/tests.py": (
            "from django.test import TestCase\n\nfrom shelf.shelving import count, shelve\n\n\n"
            "class CountTests(TestCase):\n    def test_count(self):\n        shelve('a')\n"
            "        self.assertEqual(count(), 1)\n"
        ),
    }
    result = run_testing(leo_repo(base=SHELF, head=head).change())
    agent = result.agent("testing")
    assert (agent.details["tests"], agent.details["passed"]) == (2, 2), agent.summary
    assert agent.details["django_settings"] == "tests.settings"
    result.assert_verdict("PASS")


def test_a_projects_own_python_files_are_kept_where_leo_names_the_settings(leo_repo, run_testing):
    """LEO names the settings from tox, but pytest's configuration says which files are tests:
    its pattern, not Django's runner's ``test*.py``, decides what is collected."""
    base = {
        **{k: v for k, v in SHELF.items() if k != "tests/test_shelf.py"},
        "pyproject.toml": SHELF["pyproject.toml"]
        + '[tool.pytest.ini_options]\npython_files = ["check_*.py"]\n',
        "tests/check_shelf.py": SHELF["tests/test_shelf.py"].replace("ShelfTests", "ShelfCheck"),
    }
    head = {"shelf/shelving.py": SHELF["shelf/shelving.py"] + "\n\nLIMIT = 10\n"}
    result = run_testing(leo_repo(base=base, head=head).change())
    agent = result.agent("testing")
    assert agent.details["django_settings"] == "tests.settings"
    assert agent.details["tests"] == 1, agent.summary
    result.assert_verdict("PASS")
