import unittest

from stacktool.answers import parse


class ParseTest(unittest.TestCase):
    def test_scalars_as_copier_writes_them(self):
        text = (
            "# Changes here will be overwritten by Copier; NEVER EDIT MANUALLY\n"
            "_commit: 0.3.0\n"
            "_src_path: /home/me/template\n"
            "acme_email: ''\n"
            "node_version: '24'\n"
            "project_name: 'It''s \"ours\"'\n"
            'slogan: "tab\\there \\u00e9"\n'
            "use_celery: false\n"
            "workers: 3\n"
        )
        self.assertEqual(
            parse(text),
            {
                "_commit": "0.3.0",
                "_src_path": "/home/me/template",
                "acme_email": "",
                "node_version": "24",
                "project_name": 'It\'s "ours"',
                "slogan": "tab\there \u00e9",
                "use_celery": False,
                "workers": 3,
            },
        )

    def test_long_values_folded_over_lines(self):
        text = "_src_path: /a/very/long\n  path/with spaces\nname: 'one\n\n  two'\n"
        self.assertEqual(
            parse(text), {"_src_path": "/a/very/long path/with spaces", "name": "one\ntwo"}
        )

    def test_anything_else_is_an_error_not_a_guess(self):
        for text in ("- a list\n", "key: [1, 2]\n", "key: 'open\n"):
            with self.subTest(text=text), self.assertRaises(ValueError):
                parse(text)
