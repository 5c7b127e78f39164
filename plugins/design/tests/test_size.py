"""Size limits: only files and functions the change makes cross their limit are reported."""

from __future__ import annotations

from leo_design import DesignAgent


def _lines(n: int) -> str:
    return "".join(f"VALUE_{i} = {i}\n" for i in range(n))


def test_file_the_change_makes_cross_the_limit_is_a_finding(leo_repo, leo_run, design_config):
    repo = leo_repo(base={"data.py": _lines(40)}, head={"data.py": _lines(60)})
    run = leo_run(repo.change(), [DesignAgent], config=design_config(max_file_lines=50))
    finding = run.assert_finding("design.size.file", path="data.py")
    assert "grew from 40 lines to 60 lines" in finding.message
    assert finding.severity == "low"


def test_file_already_over_the_limit_at_the_base_is_not_reported(leo_repo, leo_run, design_config):
    repo = leo_repo(base={"data.py": _lines(60)}, head={"data.py": _lines(70)})
    run = leo_run(repo.change(), [DesignAgent], config=design_config(max_file_lines=50))
    run.assert_no_finding("design.size")


def test_default_file_limit_is_600_lines(leo_repo, leo_run):
    repo = leo_repo(head={"small.py": _lines(600), "big.py": _lines(601)})
    run = leo_run(repo.change(), [DesignAgent])
    assert [(f.rule_id, f.path) for f in run.findings] == [("design.size.file", "big.py")]


def test_function_the_change_makes_cross_the_limit_is_a_finding(leo_repo, leo_run, design_config):
    def body(n: int) -> str:
        return "def build():\n" + "".join(f"    a{i} = {i}\n" for i in range(n)) + "    return 0\n"

    repo = leo_repo(base={"build.py": body(5)}, head={"build.py": body(12)})
    run = leo_run(repo.change(), [DesignAgent], config=design_config(max_function_lines=10))
    finding = run.assert_finding("design.size.function", path="build.py", line=1)
    assert "build grew from 7 to 14 lines" in finding.message
    assert finding.end_line == 14
