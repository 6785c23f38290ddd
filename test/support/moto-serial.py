"""moto_server with every request served under one lock.

moto's in-memory backends are not thread-safe, and moto_server serves each
request on its own thread: two concurrent CreateSecret calls can fail with
"RuntimeError: dictionary changed size during iteration" (an HTML 500 page
the SDK cannot parse), which made tests fail now and then. Serving one
request at a time keeps moto's behaviour and keep-alive connections, and
removes the race. Usage: python3 moto-serial.py HOST PORT
"""
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()


def serial(environ, start_response):
    with lock:
        return list(app(environ, start_response))


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
run_simple(sys.argv[1], int(sys.argv[2]), serial, threaded=True)
