#!/usr/bin/env python3
"""Loopback HTTP server for the import tests: serves files from a directory, and misbehaves on
purpose on a few paths. Usage: http-fixture.py DIR PORTFILE (writes the port it bound to PORTFILE)."""
import http.server, os, sys, time

ROOT, PORTFILE = sys.argv[1], sys.argv[2]

class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.path == "/missing.tar":
            self.send_error(404)
        elif self.path == "/broken.tar":
            self.send_error(500)
        elif self.path == "/stall.tar":
            self.send_response(200)
            self.send_header("Content-Length", "100000000")
            self.end_headers()
            self.wfile.write(b"\0" * 1000)
            self.wfile.flush()
            time.sleep(60)
        elif self.path == "/huge.tar":
            self.send_response(200)
            self.send_header("Content-Length", str(10**15))
            self.end_headers()
            try:
                while True:
                    self.wfile.write(b"\0" * 65536)
            except OSError:
                pass
        elif self.path == "/loop.tar":
            self.send_response(302)
            self.send_header("Location", "/loop.tar")
            self.end_headers()
        else:
            path = os.path.join(ROOT, os.path.basename(self.path))
            if not os.path.isfile(path):
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(os.path.getsize(path)))
            self.end_headers()
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    self.wfile.write(chunk)

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
server.serve_forever()
