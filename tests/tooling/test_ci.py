"""The CI skip guard: a planted unexpected skip fails it; marker skips do not."""

import subprocess
import sys
import textwrap
from pathlib import Path

from tools.check_skips import unexpected_skips

PLANTED = textwrap.dedent("""
    import pytest

    @pytest.mark.requires_cuda
    def test_gpu():
        pass

    def test_optional_package():
        pytest.importorskip("a_package_that_is_not_installed")

    def test_fine():
        pass
""")


def _run_pytest(tmp_path, source):
    (tmp_path / "test_planted.py").write_text(source)
    ours = Path(__file__).resolve().parents[1] / "conftest.py"
    (tmp_path / "conftest.py").write_text(textwrap.dedent(f"""
        import importlib.util
        spec = importlib.util.spec_from_file_location("lanser_tests_conftest", {str(ours)!r})
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        pytest_collection_modifyitems = module.pytest_collection_modifyitems

        def pytest_configure(config):
            config.addinivalue_line("markers", "requires_cuda: needs a GPU")
    """))
    return subprocess.run([sys.executable, "-m", "pytest", "-ra", "-p", "no:cacheprovider",
                           "-q", str(tmp_path)], capture_output=True, text=True, cwd=tmp_path)


def test_planted_skip_fails_the_guard(tmp_path):
    result = _run_pytest(tmp_path, PLANTED)
    assert result.returncode == 0, result.stdout  # pytest itself is green...
    bad = unexpected_skips(result.stdout)
    assert len(bad) == 1 and "a_package_that_is_not_installed" in bad[0]  # ...the guard is not
    log = tmp_path / "log"
    log.write_text(result.stdout)
    guard = subprocess.run([sys.executable, "tools/check_skips.py", str(log)],
                           capture_output=True, text=True)
    assert guard.returncode == 1 and "unexpected skip" in guard.stderr


def test_marker_skips_pass_the_guard(tmp_path):
    result = _run_pytest(tmp_path, PLANTED.replace(
        'pytest.importorskip("a_package_that_is_not_installed")', "pass"))
    assert "requires_cuda" in result.stdout or "2 passed" in result.stdout  # GPU machines run it
    assert unexpected_skips(result.stdout) == []
