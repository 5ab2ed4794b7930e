import multiprocessing
import os

bind = "0.0.0.0:8000"
default_workers = min(2 * multiprocessing.cpu_count() + 1, 9)
workers = int(os.environ.get("WEB_CONCURRENCY", default_workers))
accesslog = "-"
errorlog = "-"
# Only the reverse proxy reaches port 8000 (on the compose network), so trust its
# X-Forwarded-* headers whatever its address.
forwarded_allow_ips = "*"
# gunicornc's control socket (`gunicornc -s /tmp/gunicorn.ctl`): in the container's tmpfs, as
# its home is on a read-only file system.
control_socket = "/tmp/gunicorn.ctl"
