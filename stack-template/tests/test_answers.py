import sys
import unittest
from unittest import mock

from stacktool.answers import parse
from stacktool.errors import StackError


class ParseTest(unittest.TestCase):
    def test_every_answer_type_as_the_template_writes_it(self):
        text = (
            '{\n  "_commit": "0.3.0",\n  "features": [\n    "celery"\n  ],\n  "flag": false,\n'
            '  "none": null,\n  "ratio": 0.5,\n  "settings": {\n    "a": 1\n  },\n'
            '  "slogan": "tab\\there \\u007f é 🎉",\n  "workers": 3\n}\n'
        )
        self.assertEqual(
            parse(text),
            {
                "_commit": "0.3.0",
                "features": ["celery"],
                "flag": False,
                "none": None,
                "ratio": 0.5,
                "settings": {"a": 1},
                "slogan": "tab\there \x7f é 🎉",
                "workers": 3,
            },
        )

    def test_the_yaml_form_of_older_releases_without_pyyaml_names_the_fix(self):
        text = "# Changes here will be overwritten by Copier\n_commit: 0.2.0\nslug: shop\n"
        no_pyyaml = mock.patch.dict(sys.modules, {"yaml": None})
        with no_pyyaml, self.assertRaises(StackError) as caught:
            parse(text)
        self.assertIn(
            "older template release: update this repo (copier update", str(caught.exception)
        )

    def test_anything_but_a_mapping_is_an_error(self):
        for text in ("[1, 2]\n", '"text"\n'):
            with self.subTest(text=text), self.assertRaises(StackError):
                parse(text)
