"""The stack's host-side tool: link an app, sync its .env, build the images, install.

Standard library only, Python 3.9 or newer, so that it runs wherever the stack is checked
out (a server, a developer's Mac, CI) and copier's hooks can import it. `./stack --help`.
"""
