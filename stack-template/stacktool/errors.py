"""The one kind of failure the tool reports: a message that names the fix."""


class StackError(Exception):
    """Something the user can fix; the message says how."""
