import json
import tempfile
import unittest
from pathlib import Path

from stacktool import npmlock
from stacktool.errors import StackError

STACK = {
    "": {"dependencies": {"react-dom": "19.0.0"}},
    "node_modules/react-dom": {"version": "19.0.0", "dependencies": {"scheduler": "^0.28.0"}},
    "node_modules/scheduler": {"version": "0.28.0"},
    "node_modules/app-packages-check": {"resolved": "app-packages-check", "link": True},
}


class ClashesTest(unittest.TestCase):
    def test_added_packages_are_no_clash(self):
        merged = {**STACK, "node_modules/is-number": {"version": "7.0.0"}}
        self.assertEqual(npmlock.clashes(STACK, merged, {"is-number": "7.0.0"}), [])

    def test_a_moved_stack_pin_names_both_sides(self):
        merged = {
            **STACK,
            "node_modules/scheduler": {"version": "0.25.0"},
            "node_modules/react-dom/node_modules/scheduler": {"version": "0.28.0"},
            "node_modules/old-ui": {"version": "1.0.0", "dependencies": {"scheduler": "0.25.0"}},
        }
        found = npmlock.clashes(STACK, merged, {"old-ui": "1.0.0"})
        self.assertEqual(
            found,
            [
                "old-ui 1.0.0 (scheduler 0.25.0) would change scheduler from 0.28.0, which the "
                "stack's package-lock.json fixes at node_modules/scheduler, to 0.25.0"
            ],
        )

    def test_package_names_from_paths(self):
        self.assertEqual(npmlock.package_name("node_modules/a/node_modules/@s/b"), "@s/b")


class NotFoundTest(unittest.TestCase):
    """npm's own words (npm 11) when the registry lacks a package or a version."""

    def test_a_missing_package_is_named(self):
        said = (
            "npm error code E404\nnpm error 404 Not Found - GET "
            "https://registry.npmjs.org/@types%2fno-such\nnpm error 404\nnpm error 404  The "
            "requested resource '@types/no-such@1.0.0' could not be found or you do not have "
            "permission to access it.\n"
        )
        self.assertEqual(
            npmlock.not_found(said),
            "@types/no-such: no such package in the npm registry; correct the name",
        )

    def test_a_missing_version_is_named(self):
        said = (
            "npm error code ETARGET\nnpm error notarget No matching version found for "
            "is-number@99.0.0.\nnpm error notarget In most cases you or one of your "
            "dependencies are requesting\n"
        )
        self.assertEqual(
            npmlock.not_found(said),
            "is-number has no version 99.0.0 in the npm registry; correct the version "
            "(npm view is-number versions lists them)",
        )

    def test_another_failure_is_not_a_missing_package(self):
        self.assertEqual(npmlock.not_found("npm error code ERESOLVE\n"), "")


class CurrentTest(unittest.TestCase):
    def setUp(self):
        self.app = Path(tempfile.mkdtemp())
        (self.app / "frontend").mkdir()

    def write(self, name, value):
        (self.app / "frontend" / name).write_text(json.dumps(value))

    def test_the_lock_is_current_until_package_app_json_changes(self):
        self.write("package-app.json", {"dependencies": {"is-number": "7.0.0"}})
        self.assertFalse(npmlock.is_current(self.app))  # no lock yet
        self.write("package-app.lock.json", {"dependencies": {"is-number": "7.0.0"}})
        self.assertTrue(npmlock.is_current(self.app))
        self.write("package-app.json", {"dependencies": {"is-number": "7.0.1"}})
        self.assertFalse(npmlock.is_current(self.app))

    def test_an_app_without_npm_packages_needs_no_lock(self):
        self.write("package-app.json", {"dependencies": {}, "devDependencies": {}})
        self.assertTrue(npmlock.is_current(self.app))
        self.assertEqual(npmlock.app_lock_for_build(Path("/nonexistent"), self.app), "{}\n")

    def test_a_range_is_refused(self):
        stack = Path(tempfile.mkdtemp())
        (stack / "frontend").mkdir()
        (stack / "frontend/package.json").write_text(json.dumps({"dependencies": {}}))
        self.write("package-app.json", {"dependencies": {"is-number": "^7.0.0"}})
        with self.assertRaisesRegex(StackError, 'is-number: "\\^7.0.0" is not an exact version'):
            npmlock.listing(stack, self.app)
