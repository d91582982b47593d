#!/usr/bin/env python3
"""One build truth: CMake and Bazel describe the same sources and the same tests.

Run by both builds (ctest `build_sync`, Bazel `//tests/build:build_sync_test`) and by
hand (`python3 tests/build/build_sync_test.py`). It reads every CMakeLists.txt and
BUILD file of the repository as text and fails, naming the file, when
- a C++ source (.cc) is compiled by one build and not the other;
- a test target exists in one build and not the other (CMake `explainer_add_test`,
  `explainer_add_fuzz_test` and `add_test(NAME ...)` against Bazel `*_test` rules,
  matched by name);
- a Python test file (tests/**/*_test.py) is run by neither build's rules.
A source file that exists but neither build compiles is reported too: a new file
must be added to both descriptions, not only to the tree.
"""
import os
import re
import sys
import unittest

_SKIP_DIRS = {".git", "third_party", "node_modules", "__pycache__"}
_CMAKE_TEST_RE = re.compile(
    r"\b(?:explainer_add_test|explainer_add_fuzz_test)\(\s*([A-Za-z0-9_\-]+)")
_CMAKE_ADD_TEST_RE = re.compile(r"\badd_test\(\s*NAME\s+([A-Za-z0-9_\-]+)")
_BAZEL_TEST_RE = re.compile(
    r"\b(?:cc_test|py_test|sh_test|explainer_fuzz_test)\(\s*name\s*=\s*\"([^\"]+)\"")
_CMAKE_SOURCE_RE = re.compile(r"[\w${}./\-]+\.(?:cc|py)\b")
_BAZEL_STRING_RE = re.compile(r"\"([^\"]+\.(?:cc|py))\"")


def repo_root():
    """The source tree: this file's real location, also under Bazel's runfiles."""
    here = os.path.dirname(os.path.realpath(__file__))
    return os.path.dirname(os.path.dirname(here))


def _ignored_dirs(root):
    """Folders neither build looks into (.bazelignore, plus build trees)."""
    ignored = set()
    path = os.path.join(root, ".bazelignore")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.split("#", 1)[0].strip()
                if line:
                    ignored.add(line.rstrip("/"))
    return ignored


def _walk(root):
    ignored = _ignored_dirs(root)
    for folder, dirs, files in os.walk(root):
        rel = os.path.relpath(folder, root)
        rel = "" if rel == "." else rel
        dirs[:] = sorted(
            d for d in dirs
            if d not in _SKIP_DIRS and not d.startswith("bazel-") and
            not d.startswith("build") and os.path.join(rel, d) not in ignored)
        yield rel, files


def _strip_comments(text):
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


def cmake_view(root):
    """(sources, tests) named by every CMakeLists.txt, sources repo-relative."""
    sources, tests = {}, {}
    for rel, files in _walk(root):
        if "CMakeLists.txt" not in files:
            continue
        where = os.path.join(rel, "CMakeLists.txt")
        with open(os.path.join(root, where)) as f:
            text = _strip_comments(f.read())
        for name in _CMAKE_TEST_RE.findall(text) + _CMAKE_ADD_TEST_RE.findall(text):
            tests[name] = where
        for token in _CMAKE_SOURCE_RE.findall(text):
            if "*" in token:
                continue
            if token.startswith("${PROJECT_SOURCE_DIR}/"):
                path = token[len("${PROJECT_SOURCE_DIR}/"):]
            elif "$" in token:
                continue
            else:
                path = os.path.normpath(os.path.join(rel, token))
            sources.setdefault(path, where)
    return sources, tests


def bazel_view(root):
    """(sources, tests) named by every BUILD file, sources repo-relative."""
    sources, tests = {}, {}
    for rel, files in _walk(root):
        if "BUILD" not in files:
            continue
        where = os.path.join(rel, "BUILD")
        with open(os.path.join(root, where)) as f:
            text = _strip_comments(f.read())
        for name in _BAZEL_TEST_RE.findall(text):
            tests[name] = where
        for token in _BAZEL_STRING_RE.findall(text):
            if "*" in token:
                continue
            if token.startswith("//"):
                package, _, name = token[2:].partition(":")
                path = os.path.join(package, name)
            else:
                path = os.path.normpath(os.path.join(rel, token.lstrip(":")))
            sources.setdefault(path, where)
    return sources, tests


def tree_sources(root):
    """Every .cc file of the tree and every Python test file."""
    found = set()
    for rel, files in _walk(root):
        for name in files:
            if name.endswith(".cc") or (name.endswith("_test.py") and
                                        rel.startswith("tests")):
                found.add(os.path.join(rel, name))
    return found


def differences(root):
    """Human-readable lines, one per disagreement; empty when the builds agree."""
    cmake_sources, cmake_tests = cmake_view(root)
    bazel_sources, bazel_tests = bazel_view(root)
    problems = []
    tree = tree_sources(root)
    for path in sorted(tree):
        in_cmake, in_bazel = path in cmake_sources, path in bazel_sources
        if path.endswith(".py"):
            # CMake runs Python tests through `unittest discover` over their folder.
            in_cmake = in_cmake or any(
                os.path.dirname(path).startswith(os.path.dirname(src))
                for src in cmake_sources if src.endswith(".py")) or _discovered(
                    root, path)
        if in_cmake and not in_bazel:
            problems.append(f"{path}: in {cmake_sources.get(path, 'CMake')} but in no BUILD file")
        elif in_bazel and not in_cmake:
            problems.append(f"{path}: in {bazel_sources[path]} but in no CMakeLists.txt")
        elif not in_cmake and not in_bazel:
            problems.append(f"{path}: in the tree but built by neither CMake nor Bazel")
    for name in sorted(set(cmake_tests) - set(bazel_tests)):
        problems.append(f"test {name}: in {cmake_tests[name]} but no Bazel test has that name")
    for name in sorted(set(bazel_tests) - set(cmake_tests)):
        problems.append(f"test {name}: in {bazel_tests[name]} but no CMake test has that name")
    return problems


def _discovered(root, path):
    """True when a CMakeLists.txt runs `unittest discover -s <folder of path>`."""
    folder = os.path.dirname(path)
    for rel, files in _walk(root):
        if "CMakeLists.txt" not in files:
            continue
        with open(os.path.join(root, rel, "CMakeLists.txt")) as f:
            text = _strip_comments(f.read())
        for match in re.finditer(r"unittest\s+discover\s+-s\s+(\S+)", text):
            if folder == os.path.normpath(match.group(1)):
                return True
    return False


class BuildSyncTest(unittest.TestCase):

    def test_cmake_and_bazel_describe_the_same_sources_and_tests(self):
        problems = differences(repo_root())
        self.assertEqual(problems, [], "\n" + "\n".join(problems))

    def test_checker_sees_a_source_added_to_one_build_only(self):
        # The checker itself on a tiny tree: a .cc in CMake only must be reported.
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            os.makedirs(os.path.join(tmp, "lib"))
            for name in ("a.cc", "b.cc"):
                open(os.path.join(tmp, "lib", name), "w").close()
            with open(os.path.join(tmp, "lib", "CMakeLists.txt"), "w") as f:
                f.write("add_library(lib STATIC a.cc b.cc)\nexplainer_add_test(lib_tests)\n")
            with open(os.path.join(tmp, "lib", "BUILD"), "w") as f:
                f.write('cc_library(name = "lib", srcs = ["a.cc"])\n'
                        'cc_test(name = "lib_tests", srcs = [])\n')
            self.assertEqual(differences(tmp),
                             ["lib/b.cc: in lib/CMakeLists.txt but in no BUILD file"])
            with open(os.path.join(tmp, "lib", "BUILD"), "a") as f:
                f.write('cc_test(name = "other_test", srcs = ["b.cc"])\n')
            self.assertEqual(differences(tmp), [
                "test other_test: in lib/BUILD but no CMake test has that name"])


if __name__ == "__main__":
    unittest.main()
